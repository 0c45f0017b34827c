// Cgroups seen from outside (the host's cgroup files) and from inside the container, on cgroup v2
// (the test VM) and v1 (this host).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "harness.hpp"
#include "isolate/cgroup.hpp"
#include "isolate/files.hpp"

namespace hanok::test {
namespace {

namespace cg = isolate::cgroup;

class Cgroups : public ContainerTest {
 protected:
  bool v2() const { return cg::detect_mode() == cg::Mode::Unified; }
  // The host path of a cgroup file of container `id` (controller used on v1 only).
  std::string host_file(const std::string& id, const std::string& v1_controller,
                        const std::string& file) const {
    std::string path = cgroup_parent() + "/" + id;
    return v2() ? "/sys/fs/cgroup" + path + "/" + file
                : "/sys/fs/cgroup/" + v1_controller + path + "/" + file;
  }
  std::string read_trimmed(const std::string& path) const {
    std::string text = isolate::read_file(path);
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    return text;
  }
  bool cgroup_exists(const std::string& id) const {
    return isolate::path_exists(host_file(id, "pids", ""));
  }
  void limits(int64_t memory, uint64_t shares, int64_t quota, int64_t pids) {
    config()["linux"]["resources"]["memory"] = {{"limit", memory}};
    config()["linux"]["resources"]["cpu"] = {
        {"shares", shares}, {"quota", quota}, {"period", 100000}};
    config()["linux"]["resources"]["pids"] = {{"limit", pids}};
  }
};

TEST_F(Cgroups, LimitsReadBackOutsideAndInside) {
  limits(64 << 20, 512, 50000, 10);
  if (v2()) {
    config()["linux"]["namespaces"].push_back({{"type", "cgroup"}});
    set_shell(
        "cat /proc/self/cgroup; cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/cpu.max "
        "/sys/fs/cgroup/cpu.weight /sys/fs/cgroup/pids.max; sleep 100");
  } else {
    // The container's own cgroup is the root of each hierarchy it sees (runc's view): its own
    // limits there, and nothing of the host's tree (not even its parent).
    set_shell(
        "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max; "
        "ls /sys/fs/cgroup/memory /sys/fs/cgroup/pids | grep -c hanok-it; "
        "sleep 100");
  }
  int out = -1;
  pid_t runner = spawn_hanok({"run", "--bundle", bundle(), "lim"}, &out);
  ASSERT_TRUE(wait_for_status("lim", "running"));
  // Everything the container prints before its sleep: 5 lines on v2, 2 on v1 (the VM is slow,
  // so read until then, not once).
  size_t lines_expected = v2() ? 5 : 3;
  std::string inside;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  pollfd entry{out, POLLIN, 0};
  while (static_cast<size_t>(std::count(inside.begin(), inside.end(), '\n')) < lines_expected &&
         std::chrono::steady_clock::now() < deadline) {
    if (::poll(&entry, 1, 100) <= 0) continue;
    char buffer[4096];
    ssize_t n = ::read(out, buffer, sizeof buffer);
    if (n <= 0) break;
    inside.append(buffer, static_cast<size_t>(n));
  }
  ::close(out);
  if (v2()) {
    EXPECT_EQ(read_trimmed(host_file("lim", "", "memory.max")), "67108864");
    EXPECT_EQ(read_trimmed(host_file("lim", "", "cpu.max")), "50000 100000");
    EXPECT_EQ(read_trimmed(host_file("lim", "", "cpu.weight")), "59");
    EXPECT_EQ(read_trimmed(host_file("lim", "", "pids.max")), "10");
    // A cgroup namespace: the container sees its cgroup as the root.
    EXPECT_EQ(inside, "0::/\n67108864\n50000 100000\n59\n10\n");
  } else {
    EXPECT_EQ(read_trimmed(host_file("lim", "memory", "memory.limit_in_bytes")), "67108864");
    EXPECT_EQ(read_trimmed(host_file("lim", "cpu", "cpu.shares")), "512");
    EXPECT_EQ(read_trimmed(host_file("lim", "cpu", "cpu.cfs_quota_us")), "50000");
    EXPECT_EQ(read_trimmed(host_file("lim", "cpu", "cpu.cfs_period_us")), "100000");
    EXPECT_EQ(read_trimmed(host_file("lim", "pids", "pids.max")), "10");
    EXPECT_EQ(inside, "67108864\n10\n0\n");
  }
  ASSERT_EQ(hanok({"kill", "lim", "KILL"}).exit_code, 0);
  EXPECT_EQ(wait_background(runner), 137);
  EXPECT_FALSE(cgroup_exists("lim"));
}

TEST_F(Cgroups, MemoryHogIsOomKilledAndEventsReportIt) {
  config()["linux"]["resources"]["memory"] = {{"limit", 16 << 20}, {"swap", 16 << 20}};
  if (!v2() && !isolate::path_exists("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes")) {
    config()["linux"]["resources"]["memory"].erase("swap");
  }
  set_shell("sleep 0.5; tail /dev/zero; echo survived; sleep 100");
  ASSERT_EQ(hanok({"create", "--bundle", bundle(), "oom"}).exit_code, 0);
  int out = -1;
  pid_t events = spawn_hanok({"events", "--interval", "100ms", "oom"}, &out);
  ASSERT_EQ(hanok({"start", "oom"}).exit_code, 0);
  std::string stream;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  pollfd entry{out, POLLIN, 0};
  while (stream.find("\"type\":\"oom\"") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    if (::poll(&entry, 1, 200) <= 0) continue;
    char buffer[4096];
    ssize_t n = ::read(out, buffer, sizeof buffer);
    if (n <= 0) break;
    stream.append(buffer, static_cast<size_t>(n));
  }
  ::close(out);
  EXPECT_NE(stream.find("{\"id\":\"oom\",\"type\":\"oom\"}"), std::string::npos) << stream;
  EXPECT_NE(stream.find("\"type\":\"stats\""), std::string::npos);
  ASSERT_EQ(hanok({"delete", "--force", "oom"}).exit_code, 0);
  wait_background(events);
}

TEST_F(Cgroups, ForkBombStopsAtPidsMax) {
  config()["linux"]["resources"]["pids"] = {{"limit", 8}};
  set_args({"sleep", "100"});
  ASSERT_EQ(hanok({"run", "-d", "--bundle", bundle(), "bomb"}).exit_code, 0);
  // The shell gives up at the first fork the kernel refuses; what it started stays.
  Result bomb = hanok(
      {"exec", "bomb", "sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10 11 12; do sleep 100 & done"});
  EXPECT_NE(bomb.err.find("can't fork"), std::string::npos) << bomb.err;
  Result ps = hanok({"ps", "--format", "json", "bomb"});
  ASSERT_EQ(ps.exit_code, 0) << ps.err;
  auto pids = nlohmann::json::parse(ps.out);
  // At the refused fork: init + the exec'd shell + 6 sleeps = pids.max. The shell has gone since.
  EXPECT_EQ(pids.size(), 7u) << ps.out;
  std::string events =
      v2() ? host_file("bomb", "", "pids.events") : host_file("bomb", "pids", "pids.events");
  EXPECT_NE(read_trimmed(events), "max 0");
}

TEST_F(Cgroups, PauseStopsACounterAndResumeRestartsIt) {
  std::string shared = bundle() + "/shared";
  ::mkdir(shared.c_str(), 0777);
  config()["mounts"].push_back(
      {{"destination", "/shared"}, {"type", "bind"}, {"source", shared}, {"options", {"rbind"}}});
  set_shell(
      "i=0; while true; do i=$((i+1)); echo $i > /shared/n.tmp; mv /shared/n.tmp /shared/n; "
      "sleep 0.02; done");
  ASSERT_EQ(hanok({"run", "-d", "--bundle", bundle(), "ctr"}).exit_code, 0);
  auto counter = [&] { return std::stoi(isolate::read_file(shared + "/n")); };
  auto wait_counter = [&] {
    for (int i = 0; i < 100 && !isolate::path_exists(shared + "/n"); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  };
  wait_counter();
  ASSERT_EQ(hanok({"pause", "ctr"}).exit_code, 0);
  EXPECT_EQ(state("ctr")["status"], "paused");
  int frozen = counter();
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  EXPECT_EQ(counter(), frozen);
  Result again = hanok({"pause", "ctr"});
  EXPECT_NE(again.exit_code, 0);
  ASSERT_EQ(hanok({"resume", "ctr"}).exit_code, 0);
  EXPECT_EQ(state("ctr")["status"], "running");
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  EXPECT_GT(counter(), frozen);
}

TEST_F(Cgroups, UpdateChangesLiveLimits) {
  limits(64 << 20, 512, 50000, 10);
  set_args({"sleep", "100"});
  ASSERT_EQ(hanok({"run", "-d", "--bundle", bundle(), "upd"}).exit_code, 0);
  Result flags = hanok({"update", "--memory", "128m", "--pids-limit", "20", "upd"});
  ASSERT_EQ(flags.exit_code, 0) << flags.err;
  std::string file = bundle() + "/resources.json";
  isolate::write_file_atomic(file, R"({"cpu": {"quota": 20000, "period": 100000}})");
  Result json = hanok({"update", "--resources", file, "upd"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  if (v2()) {
    EXPECT_EQ(read_trimmed(host_file("upd", "", "memory.max")), "134217728");
    EXPECT_EQ(read_trimmed(host_file("upd", "", "pids.max")), "20");
    EXPECT_EQ(read_trimmed(host_file("upd", "", "cpu.max")), "20000 100000");
  } else {
    EXPECT_EQ(read_trimmed(host_file("upd", "memory", "memory.limit_in_bytes")), "134217728");
    EXPECT_EQ(read_trimmed(host_file("upd", "pids", "pids.max")), "20");
    EXPECT_EQ(read_trimmed(host_file("upd", "cpu", "cpu.cfs_quota_us")), "20000");
  }
  Result bad = hanok({"update", "--memory", "lots", "upd"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("--memory"), std::string::npos) << bad.err;
}

TEST_F(Cgroups, DeniedDeviceCannotBeOpened) {
  // The default config denies every device; the usual ones (null, zero, ...) are allowed on top.
  config()["process"]["capabilities"]["bounding"].push_back("CAP_MKNOD");
  config()["process"]["capabilities"]["effective"].push_back("CAP_MKNOD");
  config()["process"]["capabilities"]["permitted"].push_back("CAP_MKNOD");
  config()["mounts"].push_back(
      {{"destination", "/scratch"}, {"type", "tmpfs"}, {"source", "tmpfs"}});
  set_shell(
      "head -c 1 /dev/zero | wc -c; mknod /scratch/mem c 1 1 && echo made; "
      "head -c 1 /scratch/mem 2>&1; echo rc=$?");
  Result r = run_container("dev");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("1\nmade\n", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("Operation not permitted"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("rc=1"), std::string::npos) << r.out;
}

TEST_F(Cgroups, SystemdStylePathLandsWhereTheKubeletExpects) {
  std::string pod = "hanoktest" + std::to_string(::getpid());
  std::string slice = pod + "-burstable-podabc.slice";
  config()["linux"]["cgroupsPath"] = slice + ":cri-hanok:ctr1";
  std::string expected =
      "/" + pod + ".slice/" + pod + "-burstable.slice/" + slice + "/cri-hanok-ctr1.scope";
  remove_cgroup_after("/" + pod + ".slice/" + pod + "-burstable.slice/" + slice);
  remove_cgroup_after("/" + pod + ".slice/" + pod + "-burstable.slice");
  remove_cgroup_after("/" + pod + ".slice");
  set_shell(v2() ? "cat /proc/self/cgroup" : "grep :pids: /proc/self/cgroup");
  Result r = hanok({"--systemd-cgroup", "run", "--bundle", bundle(), "sd"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(expected), std::string::npos) << r.out << " expected " << expected;
  std::string dir = v2() ? "/sys/fs/cgroup" + expected : "/sys/fs/cgroup/pids" + expected;
  EXPECT_FALSE(isolate::path_exists(dir));
}

TEST_F(Cgroups, NoCgroupLeftAfterDeleteOrAFailedCreate) {
  set_args({"sleep", "100"});
  ASSERT_EQ(hanok({"run", "-d", "--bundle", bundle(), "gone"}).exit_code, 0);
  EXPECT_TRUE(cgroup_exists("gone"));
  ASSERT_EQ(hanok({"delete", "--force", "gone"}).exit_code, 0);
  EXPECT_FALSE(cgroup_exists("gone"));

  // Fails after the cgroup was made (the mount comes later): it must go again.
  config()["mounts"].push_back(
      {{"destination", "/x"}, {"type", "bind"}, {"source", "/no/such"}, {"options", {"bind"}}});
  Result late = hanok({"create", "--bundle", bundle(), "late"});
  EXPECT_NE(late.exit_code, 0);
  EXPECT_FALSE(cgroup_exists("late"));
  EXPECT_FALSE(isolate::path_exists(state_root() + "/late"));
}

TEST_F(Cgroups, InvalidResourcesAreRejectedBeforeAnythingIsMade) {
  config()["linux"]["resources"]["cpu"] = {{"shares", 1}};
  Result r = hanok({"create", "--bundle", bundle(), "badres"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("linux.resources.cpu.shares"), std::string::npos) << r.err;
  EXPECT_FALSE(cgroup_exists("badres"));
  EXPECT_FALSE(isolate::path_exists(state_root() + "/badres"));
}

TEST_F(Cgroups, ExecJoinsTheContainerCgroup) {
  set_args({"sleep", "100"});
  ASSERT_EQ(hanok({"run", "-d", "--bundle", bundle(), "exc"}).exit_code, 0);
  Result exec = hanok({"exec", "exc", "cat", "/proc/self/cgroup"});
  ASSERT_EQ(exec.exit_code, 0) << exec.err;
  EXPECT_NE(exec.out.find(cgroup_parent() + "/exc"), std::string::npos) << exec.out;
}

// Starts a process of the test's own (not the container's) in cgroup `path`; returns its pid.
pid_t sleeper_in_cgroup(const std::string& path) {
  pid_t pid = ::fork();
  if (pid == 0) {
    ::execl("/bin/sleep", "sleep", "100", nullptr);
    ::_exit(127);
  }
  isolate::cgroup::open_cgroup(path)->add_process(pid);
  return pid;
}

void end_sleeper(pid_t pid) {
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
}

TEST_F(Cgroups, TheRootAndACgroupHoldingOtherProcessesAreRefused) {
  config()["linux"]["cgroupsPath"] = "/";
  Result root = hanok({"create", "--bundle", bundle(), "root"});
  EXPECT_NE(root.exit_code, 0);
  EXPECT_NE(root.err.find("linux.cgroupsPath"), std::string::npos) << root.err;
  EXPECT_FALSE(isolate::path_exists(state_root() + "/root"));

  std::string busy = cgroup_parent() + "/busy";
  auto cgroup = isolate::cgroup::open_cgroup(busy);
  cgroup->create();
  remove_cgroup_after(busy);
  pid_t other = sleeper_in_cgroup(busy);
  config()["linux"]["cgroupsPath"] = busy;
  Result r = hanok({"run", "--bundle", bundle(), "busy"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("is not empty: 1 process(es) found"), std::string::npos) << r.err;
  EXPECT_TRUE(process_running(other));  // nobody else's process is touched
  EXPECT_TRUE(cgroup->exists());
  EXPECT_FALSE(isolate::path_exists(state_root() + "/busy"));
  end_sleeper(other);
}

TEST_F(Cgroups, ACgroupHanokDidNotMakeStaysAfterDelete) {
  std::string mine = cgroup_parent() + "/operator";
  isolate::cgroup::open_cgroup(mine)->create();
  remove_cgroup_after(mine);
  config()["linux"]["cgroupsPath"] = mine;
  set_args({"sleep", "100"});
  ASSERT_EQ(hanok({"run", "-d", "--bundle", bundle(), "guest"}).exit_code, 0);
  ASSERT_EQ(hanok({"delete", "--force", "guest"}).exit_code, 0);
  EXPECT_TRUE(isolate::cgroup::open_cgroup(mine)->exists());
}

// With a pid namespace of its own, a container's processes die with its init: delete kills that,
// not whatever else sits in the cgroup. Only one that shares a pid namespace gets its cgroup
// killed.
TEST_F(Cgroups, DeleteKillsTheCgroupOnlyForASharedPidNamespace) {
  set_args({"sleep", "100"});
  ASSERT_EQ(hanok({"run", "-d", "--bundle", bundle(), "own"}).exit_code, 0);
  std::string path = cgroup_parent() + "/own";
  remove_cgroup_after(path);
  pid_t outsider = sleeper_in_cgroup(path);
  ASSERT_EQ(hanok({"delete", "--force", "own"}).exit_code, 0);
  EXPECT_TRUE(process_running(outsider));
  end_sleeper(outsider);

  // The host's pid namespace: a child the init leaves behind is killed with the cgroup.
  auto& namespaces = config()["linux"]["namespaces"];
  nlohmann::json kept = nlohmann::json::array();
  for (const auto& ns : namespaces) {
    if (ns["type"] != "pid") kept.push_back(ns);
  }
  namespaces = kept;
  set_shell("sleep 100 & echo $!; exec sleep 100");
  int out = -1;
  spawn_hanok({"run", "--bundle", bundle(), "shared"}, &out);
  ASSERT_TRUE(wait_for_status("shared", "running"));
  char buffer[64] = {};
  ASSERT_GT(::read(out, buffer, sizeof buffer - 1), 0);
  ::close(out);
  pid_t orphan = std::stoi(buffer);
  ASSERT_TRUE(process_running(orphan));
  ASSERT_EQ(hanok({"delete", "--force", "shared"}).exit_code, 0);
  for (int i = 0; i < 100 && process_running(orphan); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_FALSE(process_running(orphan));
}

// Even a writable cgroup mount shows the container only its own cgroup: writing to the root of
// what it sees keeps it where it is.
TEST_F(Cgroups, TheCgroupMountLeadsNowhereButTheContainersOwnCgroup) {
  for (auto& mount : config()["mounts"]) {
    if (mount["type"] == "cgroup") mount["options"] = {"nosuid", "noexec", "nodev", "rw"};
  }
  if (v2()) config()["linux"]["namespaces"].push_back({{"type", "cgroup"}});
  std::string procs = v2() ? "/sys/fs/cgroup/cgroup.procs" : "/sys/fs/cgroup/memory/cgroup.procs";
  set_shell("echo $$ > " + procs + "; sleep 100");
  ASSERT_EQ(hanok({"run", "-d", "--bundle", bundle(), "stay"}).exit_code, 0);
  int pid = state("stay")["pid"];
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  std::string cgroups = isolate::read_file("/proc/" + std::to_string(pid) + "/cgroup");
  std::string expected = cgroup_parent() + "/stay";
  std::string line = v2() ? "0::" + expected : ":memory:" + expected;
  EXPECT_NE(cgroups.find(line + "\n"), std::string::npos) << cgroups;
}

// runc's update rewrites nothing it does not change: a container using /dev/null all along sees
// no failure while its limits are updated (v1 used to deny every device for a moment).
TEST_F(Cgroups, UpdatesNeverDenyADeviceInUse) {
  config()["root"]["readonly"] = false;
  set_shell("while :; do echo x > /dev/null || echo failed >> /failures; done");
  ASSERT_EQ(hanok({"run", "-d", "--bundle", bundle(), "busy"}).exit_code, 0);
  for (int i = 0; i < 100; ++i) {
    Result r = hanok({"update", "--pids-limit", std::to_string(100 + i), "busy"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  ASSERT_EQ(hanok({"kill", "busy", "KILL"}).exit_code, 0);
  EXPECT_FALSE(isolate::path_exists(rootfs() + "/failures"))
      << isolate::read_file(rootfs() + "/failures");
}

// A relative cgroupsPath, and none at all, live below the runtime's own cgroup (its parent on
// v2), as runc places them: what nested and delegated setups rely on.
TEST_F(Cgroups, RelativePathsAreBelowTheRuntimesOwnCgroup) {
  std::string self = isolate::read_file("/proc/self/cgroup");
  auto own = [&](const std::string& controller) {
    std::string key = v2() ? "0::" : ":" + controller + ":";
    size_t at = self.find(key);
    std::string path = self.substr(at + key.size(), self.find('\n', at) - at - key.size());
    if (v2()) path = path.substr(0, path.rfind('/'));
    return path == "/" ? std::string() : path;
  };
  std::string name = "hanok-rel-" + std::to_string(::getpid());
  config()["linux"]["cgroupsPath"] = name;
  set_shell("cat /proc/self/cgroup");
  Result r = hanok({"run", "--bundle", bundle(), "rel"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // Inside a new cgroup namespace the container sees itself as the root; without one, the path.
  std::string expected =
      v2() ? "0::" + own("") + "/" + name : ":memory:" + own("memory") + "/" + name;
  EXPECT_NE(r.out.find(expected + "\n"), std::string::npos) << r.out << "want " << expected;
  EXPECT_FALSE(isolate::path_exists("/sys/fs/cgroup/" + std::string(v2() ? "" : "memory") +
                                    own(v2() ? "" : "memory") + "/" + name));
}

}  // namespace
}  // namespace hanok::test
