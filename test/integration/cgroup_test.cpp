// Cgroups seen from outside (the host's cgroup files) and from inside the container, on cgroup v2
// (the test VM) and v1 (this host).
#include <fcntl.h>
#include <poll.h>
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
    EXPECT_EQ(read_trimmed(host_file("lim", "", "cpu.weight")), "20");
    EXPECT_EQ(read_trimmed(host_file("lim", "", "pids.max")), "10");
    // A cgroup namespace: the container sees its cgroup as the root.
    EXPECT_EQ(inside, "0::/\n67108864\n50000 100000\n20\n10\n");
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

}  // namespace
}  // namespace hanok::test
