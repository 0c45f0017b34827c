// create/start/state/kill/delete, run's exit status, exec, list and ps.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "harness.hpp"
#include "isolate/files.hpp"

namespace hanok::test {
namespace {

using Lifecycle = ContainerTest;

TEST_F(Lifecycle, RunReturnsTheExitCode) {
  set_shell("exit 42");
  EXPECT_EQ(run_container().exit_code, 42);
}

TEST_F(Lifecycle, RunReturns128PlusTheSignal) {
  set_args({"sleep", "100"});
  pid_t runner = spawn_hanok({"run", "--bundle", bundle(), "sig"});
  ASSERT_TRUE(wait_for_status("sig", "running"));
  Result kill = hanok({"kill", "sig", "KILL"});
  ASSERT_EQ(kill.exit_code, 0) << kill.err;
  EXPECT_EQ(wait_background(runner), 137);
  // A foreground run deletes its container when it ends.
  EXPECT_FALSE(isolate::path_exists(state_root() + "/sig"));
}

TEST_F(Lifecycle, RunForwardsSignalsToTheContainer) {
  set_shell("trap 'exit 3' TERM; while true; do sleep 0.05; done");
  pid_t runner = spawn_hanok({"run", "--bundle", bundle(), "fwd"});
  ASSERT_TRUE(wait_for_status("fwd", "running"));
  // Until the shell has set its trap, SIGTERM to a pid-namespace init is ignored: send it again
  // until it is taken (a slow machine may need a while).
  for (int i = 0; i < 100; ++i) {
    siginfo_t info{};
    ::waitid(P_PID, static_cast<id_t>(runner), &info, WEXITED | WNOHANG | WNOWAIT);
    if (info.si_pid != 0) break;  // ended (not reaped yet)
    ::kill(runner, SIGTERM);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(wait_background(runner), 3);
}

TEST_F(Lifecycle, CreateStartStateKillDelete) {
  set_args({"sleep", "100"});
  std::string pid_file = bundle() + "/pid";
  Result create = hanok({"create", "--bundle", bundle(), "--pid-file", pid_file, "lc"});
  ASSERT_EQ(create.exit_code, 0) << create.err;

  auto created = state("lc");
  ASSERT_FALSE(created.is_null());
  EXPECT_EQ(created["status"], "created");
  EXPECT_EQ(created["id"], "lc");
  EXPECT_EQ(created["bundle"], bundle());
  EXPECT_EQ(created["rootfs"], rootfs());
  EXPECT_EQ(std::to_string(created["pid"].get<int>()), isolate::read_file(pid_file));
  // The init is waiting before exec: it still runs the runtime's image, not sleep.
  std::string comm =
      isolate::read_file("/proc/" + std::to_string(created["pid"].get<int>()) + "/comm");
  EXPECT_NE(comm, "sleep\n");

  Result start = hanok({"start", "lc"});
  ASSERT_EQ(start.exit_code, 0) << start.err;
  EXPECT_EQ(state("lc")["status"], "running");
  EXPECT_EQ(isolate::read_file("/proc/" + std::to_string(created["pid"].get<int>()) + "/comm"),
            "sleep\n");

  Result again = hanok({"start", "lc"});
  EXPECT_NE(again.exit_code, 0);
  EXPECT_NE(again.err.find("cannot start an already running container"), std::string::npos)
      << again.err;

  Result refuse = hanok({"delete", "lc"});
  EXPECT_NE(refuse.exit_code, 0);
  EXPECT_NE(refuse.err.find("cannot delete container lc that is not stopped: running"),
            std::string::npos)
      << refuse.err;

  ASSERT_EQ(hanok({"kill", "lc", "9"}).exit_code, 0);
  ASSERT_TRUE(wait_for_status("lc", "stopped"));
  EXPECT_EQ(state("lc")["pid"], 0);
  Result kill_stopped = hanok({"kill", "lc", "KILL"});
  EXPECT_NE(kill_stopped.exit_code, 0);
  EXPECT_NE(kill_stopped.err.find("container not running"), std::string::npos);

  ASSERT_EQ(hanok({"delete", "lc"}).exit_code, 0);
  EXPECT_TRUE(state("lc").is_null());
  EXPECT_FALSE(isolate::path_exists(state_root() + "/lc"));
  Result missing = hanok({"state", "lc"});
  EXPECT_NE(missing.err.find("container does not exist"), std::string::npos);
}

TEST_F(Lifecycle, DeleteOfACreatedContainerKillsItsInit) {
  ASSERT_EQ(hanok({"create", "--bundle", bundle(), "cr"}).exit_code, 0);
  int pid = state("cr")["pid"];
  ASSERT_EQ(hanok({"delete", "cr"}).exit_code, 0);
  EXPECT_FALSE(isolate::path_exists(state_root() + "/cr"));
  EXPECT_FALSE(process_running(pid));
}

TEST_F(Lifecycle, ForceDeleteOfARunningContainer) {
  set_args({"sleep", "100"});
  ASSERT_EQ(hanok({"run", "--detach", "--bundle", bundle(), "fd"}).exit_code, 0);
  EXPECT_EQ(state("fd")["status"], "running");
  ASSERT_EQ(hanok({"delete", "--force", "fd"}).exit_code, 0);
  EXPECT_TRUE(state("fd").is_null());
}

TEST_F(Lifecycle, DuplicateIdIsRefused) {
  set_args({"sleep", "100"});
  ASSERT_EQ(hanok({"create", "--bundle", bundle(), "dup"}).exit_code, 0);
  Result second = hanok({"create", "--bundle", bundle(), "dup"});
  EXPECT_NE(second.exit_code, 0);
  EXPECT_NE(second.err.find("already exists"), std::string::npos) << second.err;
  EXPECT_EQ(state("dup")["status"], "created");
}

TEST_F(Lifecycle, ExecIntoARunningContainer) {
  set_args({"sleep", "100"});
  ASSERT_EQ(hanok({"run", "-d", "--bundle", bundle(), "ex"}).exit_code, 0);
  Result exec = hanok({"exec", "--env", "X=42", "--cwd", "/etc", "-u", "1000:1000", "ex", "sh",
                       "-c", "echo $X $(pwd) $(id -u); cat /proc/1/cmdline; exit 5"});
  EXPECT_EQ(exec.exit_code, 5) << exec.err;
  EXPECT_EQ(exec.out, std::string("42 /etc 1000\nsleep\0"
                                  "100\0",
                                  23));
  Result missing = hanok({"exec", "ex", "no-such-binary"});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_NE(missing.err.find("executable file not found"), std::string::npos) << missing.err;
}

// An exec'd process lands in the container's cgroup and cgroup namespace: on cgroup v2 it is born
// in the cgroup first (with nsdelegate, a process already in the namespace could not be), then
// joins the namespace, where its cgroup is the root.
TEST_F(Lifecycle, ExecJoinsTheCgroupAndItsNamespace) {
  config()["linux"]["namespaces"].push_back({{"type", "cgroup"}});
  config()["linux"]["cgroupsPath"] = "/hanok-it-exec-cgroupns-" + std::to_string(::getpid());
  set_args({"sleep", "100"});
  ASSERT_EQ(hanok({"run", "-d", "--bundle", bundle(), "exns"}).exit_code, 0);
  Result init = hanok({"exec", "exns", "cat", "/proc/1/cgroup"});
  ASSERT_EQ(init.exit_code, 0) << init.err;
  Result exec = hanok({"exec", "exns", "cat", "/proc/self/cgroup"});
  ASSERT_EQ(exec.exit_code, 0) << exec.err;
  EXPECT_EQ(exec.out, init.out);
  EXPECT_EQ(exec.out.find("hanok-it-exec-cgroupns"), std::string::npos) << exec.out;
}

TEST_F(Lifecycle, ListAndPs) {
  set_args({"sleep", "100"});
  ASSERT_EQ(hanok({"run", "-d", "--bundle", bundle(), "ls1"}).exit_code, 0);
  Result list = hanok({"list", "--format", "json"});
  ASSERT_EQ(list.exit_code, 0);
  auto doc = nlohmann::json::parse(list.out);
  ASSERT_EQ(doc.size(), 1u);
  EXPECT_EQ(doc[0]["id"], "ls1");
  EXPECT_EQ(doc[0]["status"], "running");
  Result ps = hanok({"ps", "--format", "json", "ls1"});
  ASSERT_EQ(ps.exit_code, 0) << ps.err;
  auto pids = nlohmann::json::parse(ps.out);
  ASSERT_EQ(pids.size(), 1u);
  EXPECT_EQ(pids[0], doc[0]["pid"]);
}

// The target of the symbolic link at `path`, "" when there is none.
std::string link_target(const std::string& path) {
  char target[256] = {};
  ssize_t n = ::readlink(path.c_str(), target, sizeof target - 1);
  return n > 0 ? std::string(target, static_cast<size_t>(n)) : "";
}

// Waits (up to 10 s) until none of `pids` runs; true when none does.
bool all_ended(const nlohmann::json& pids) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (;;) {
    bool any = false;
    for (const auto& pid : pids) any = any || process_running(pid.get<int>());
    if (!any) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

// In a PID namespace of its own, killing the init ends every other process anyway; --all matters
// where the container shares another's PID namespace (a pod's, with shareProcessNamespace): every
// process of its cgroup gets the signal, and the namespace's other processes none.
TEST_F(Lifecycle, KillAllReachesEveryProcess) {
  set_args({"sleep", "100"});
  ASSERT_EQ(hanok({"run", "-d", "--bundle", bundle(), "owner"}).exit_code, 0);
  int owner = state("owner")["pid"].get<int>();
  for (auto& ns : config()["linux"]["namespaces"]) {
    if (ns["type"] == "pid") ns["path"] = "/proc/" + std::to_string(owner) + "/ns/pid";
  }
  set_shell("sleep 100 & sleep 100 & wait");
  ASSERT_EQ(hanok({"run", "-d", "--bundle", bundle(), "ka"}).exit_code, 0);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  nlohmann::json pids;
  do {
    pids = nlohmann::json::parse(hanok({"ps", "--format", "json", "ka"}).out);
  } while (pids.size() < 3 && std::chrono::steady_clock::now() < deadline);
  ASSERT_EQ(pids.size(), 3u);
  // All three share the owner's PID namespace.
  std::string owner_ns = link_target("/proc/" + std::to_string(owner) + "/ns/pid");
  ASSERT_NE(owner_ns, "");
  for (const auto& pid : pids) {
    EXPECT_EQ(link_target("/proc/" + std::to_string(pid.get<int>()) + "/ns/pid"), owner_ns);
  }
  ASSERT_EQ(hanok({"kill", "--all", "ka", "KILL"}).exit_code, 0);
  EXPECT_TRUE(wait_for_status("ka", "stopped"));
  EXPECT_TRUE(all_ended(pids)) << "processes of the container outlived kill --all";
  EXPECT_TRUE(process_running(owner));
  EXPECT_EQ(state("owner")["status"], "running");
}

TEST_F(Lifecycle, SpecWritesTheDefaultConfig) {
  std::string dir = bundle() + "/spec";
  ::mkdir(dir.c_str(), 0755);
  Result spec = run_program({hanok_binary(), "spec", "--bundle", dir});
  ASSERT_EQ(spec.exit_code, 0) << spec.err;
  auto doc = nlohmann::json::parse(isolate::read_file(dir + "/config.json"));
  EXPECT_EQ(doc["root"]["path"], "rootfs");
  EXPECT_EQ(doc["linux"]["namespaces"].size(), 5u);
  Result again = run_program({hanok_binary(), "spec", "--bundle", dir});
  EXPECT_NE(again.exit_code, 0);
  Result features = run_program({hanok_binary(), "features"});
  ASSERT_EQ(features.exit_code, 0);
  auto f = nlohmann::json::parse(features.out);
  EXPECT_EQ(f["ociVersionMax"], "1.2.0");
  EXPECT_TRUE(f["linux"]["seccomp"]["enabled"].get<bool>());
}

}  // namespace
}  // namespace hanok::test
