// What containerd's runc shim and CRI-O depend on: runc's paths, error texts, exit codes and
// lifecycle guarantees, tried the way a shim calls the runtime.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <future>
#include <string>
#include <vector>

#include "harness.hpp"
#include "isolate/cgroup.hpp"
#include "isolate/files.hpp"

namespace hanok::test {
namespace {

using Parity = ContainerTest;

// containerd's state root is /run/containerd/runc/<namespace> and its ids are 64 hex digits:
// <root>/<id>/<anything> is longer than a unix socket path may be.
TEST_F(Parity, LongStateRootsAndIdsWorkAsUnderContainerd) {
  std::string root = state_root() + "/containerd-like/runc/k8s.io";
  isolate::make_dirs(root, 0711);
  std::string id(64, 'a');
  std::replace(id.begin() + 10, id.begin() + 30, 'a', '7');
  ASSERT_GT(root.size() + 1 + id.size() + std::string("/start.sock").size(), 108u);
  set_args({"sleep", "100"});
  config()["linux"]["cgroupsPath"] = cgroup_parent() + "/long";
  write_config();
  auto runtime = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = {hanok_binary(), "--root", root};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_program(argv);
  };
  Result create = runtime({"create", "--bundle", bundle(), id});
  ASSERT_EQ(create.exit_code, 0) << create.err;
  Result start = runtime({"start", id});
  EXPECT_EQ(start.exit_code, 0) << start.err;
  Result state = runtime({"state", id});
  EXPECT_NE(state.out.find("\"running\""), std::string::npos) << state.out;
  EXPECT_EQ(runtime({"delete", "--force", id}).exit_code, 0);
}

TEST_F(Parity, ErrorTextsAndExitCodesAreRuncs) {
  auto expect_error = [](const Result& r, const std::string& text, int code = 1) {
    EXPECT_EQ(r.exit_code, code) << text;
    EXPECT_NE(r.err.find(text), std::string::npos) << "want \"" << text << "\" in: " << r.err;
  };
  // Missing.
  expect_error(hanok({"state", "nope"}), "container does not exist");
  expect_error(hanok({"kill", "nope", "9"}), "container does not exist");
  expect_error(hanok({"delete", "nope"}), "container does not exist");
  EXPECT_EQ(hanok({"delete", "--force", "nope"}).exit_code, 0);
  expect_error(hanok({"start", "nope"}), "container does not exist");
  expect_error(hanok({"exec", "nope", "true"}), "exec failed: container does not exist", 255);

  // Created, then running.
  set_args({"sleep", "100"});
  ASSERT_EQ(hanok({"create", "--bundle", bundle(), "c"}).exit_code, 0);
  expect_error(hanok({"create", "--bundle", bundle(), "c"}),
               "container with given ID already exists");
  expect_error(hanok({"resume", "c"}), "container not paused");
  ASSERT_EQ(hanok({"start", "c"}).exit_code, 0);
  expect_error(hanok({"start", "c"}), "cannot start an already running container");
  expect_error(hanok({"delete", "c"}), "cannot delete container c that is not stopped: running");
  expect_error(hanok({"resume", "c"}), "container not paused");
  ASSERT_EQ(hanok({"pause", "c"}).exit_code, 0);
  expect_error(hanok({"start", "c"}), "cannot start a container in the paused state");
  expect_error(hanok({"exec", "c", "true"}), "exec failed: cannot exec in a paused container", 255);
  ASSERT_EQ(hanok({"resume", "c"}).exit_code, 0);

  // Stopped: what containerd's shim does after its init exits.
  ASSERT_EQ(hanok({"kill", "c", "9"}).exit_code, 0);
  ASSERT_TRUE(wait_for_status("c", "stopped"));
  expect_error(hanok({"kill", "c", "15"}), "container not running");
  EXPECT_EQ(hanok({"kill", "--all", "c", "9"}).exit_code, 0);
  expect_error(hanok({"start", "c"}), "cannot start a container that has stopped");
  expect_error(hanok({"pause", "c"}), "container not running");
  expect_error(hanok({"exec", "c", "true"}), "exec failed: cannot exec in a stopped container",
               255);
  EXPECT_EQ(hanok({"delete", "c"}).exit_code, 0);

  // The same texts as the last "error" line of a JSON log (what the shim reads).
  std::string log = bundle() + "/log.json";
  Result r = hanok({"--log", log, "--log-format", "json", "kill", "c", "9"});
  EXPECT_EQ(r.exit_code, 1);
  auto entry = nlohmann::json::parse(isolate::read_file(log));
  EXPECT_EQ(entry["level"], "error");
  EXPECT_EQ(entry["msg"], "container does not exist");
}

// Two shims (or a retry) starting the same container at once: one start, one poststart.
TEST_F(Parity, ConcurrentStartsStartItOnce) {
  std::string hook_log = bundle() + "/poststart.log";
  set_args({"sleep", "100"});
  config()["hooks"]["poststart"] = {
      {{"path", "/bin/sh"}, {"args", {"sh", "-c", "echo started >> " + hook_log}}}};
  ASSERT_EQ(hanok({"create", "--bundle", bundle(), "once"}).exit_code, 0);
  std::vector<std::future<Result>> starts;
  for (int i = 0; i < 8; ++i) {
    starts.push_back(std::async(std::launch::async, [this] {
      return run_program({hanok_binary(), "--root", state_root(), "start", "once"});
    }));
  }
  int succeeded = 0;
  for (auto& start : starts) {
    Result r = start.get();
    if (r.exit_code == 0) {
      ++succeeded;
    } else {
      EXPECT_NE(r.err.find("cannot start an already running container"), std::string::npos)
          << r.err;
    }
  }
  EXPECT_EQ(succeeded, 1);
  EXPECT_EQ(isolate::read_file(hook_log), "started\n");
  EXPECT_EQ(state("once")["status"], "running");
}

// An init that dies after it accepted start but before it executed the process has not
// started: start fails, and the container is stopped (never "running").
TEST_F(Parity, AnInitThatDiesBeforeExecutingIsNotStarted) {
  // In the host's pid namespace, so that the hook can kill the init (a pid namespace's init
  // ignores SIGKILL from inside).
  nlohmann::json kept = nlohmann::json::array();
  for (const auto& ns : config()["linux"]["namespaces"]) {
    if (ns["type"] != "pid") kept.push_back(ns);
  }
  config()["linux"]["namespaces"] = kept;
  set_args({"sleep", "100"});
  config()["hooks"]["startContainer"] = {
      {{"path", "/bin/sh"}, {"args", {"sh", "-c", "kill -9 $PPID; sleep 5"}}}};
  ASSERT_EQ(hanok({"create", "--bundle", bundle(), "dies"}).exit_code, 0);
  Result start = hanok({"start", "dies"});
  EXPECT_NE(start.exit_code, 0);
  EXPECT_NE(start.err.find("exited before executing"), std::string::npos) << start.err;
  EXPECT_TRUE(wait_for_status("dies", "stopped"));
}

// runc pauses a created container too; it is then "paused", and start refuses it until resumed.
TEST_F(Parity, ACreatedContainerCanBePausedAndIsNotStartedFrozen) {
  set_args({"sleep", "100"});
  ASSERT_EQ(hanok({"create", "--bundle", bundle(), "pc"}).exit_code, 0);
  ASSERT_EQ(hanok({"pause", "pc"}).exit_code, 0);
  EXPECT_EQ(state("pc")["status"], "paused");
  Result start = hanok({"start", "pc"});
  EXPECT_NE(start.exit_code, 0);
  EXPECT_NE(start.err.find("cannot start a container in the paused state"), std::string::npos)
      << start.err;
  ASSERT_EQ(hanok({"resume", "pc"}).exit_code, 0);
  EXPECT_EQ(state("pc")["status"], "created");
  EXPECT_EQ(hanok({"start", "pc"}).exit_code, 0);
  EXPECT_EQ(state("pc")["status"], "running");
}

// Whether the kernel reports every process of the cgroup at `path` frozen: v1's freezer.state is
// FROZEN (FREEZING while one is not yet), v2's cgroup.events says "frozen 1".
bool cgroup_frozen(const std::string& path) {
  namespace cg = isolate::cgroup;
  if (cg::detect_mode() == cg::Mode::Unified) {
    std::string events = isolate::read_file("/sys/fs/cgroup" + path + "/cgroup.events");
    return events.find("frozen 1\n") != std::string::npos;
  }
  return isolate::read_file("/sys/fs/cgroup/freezer" + path + "/freezer.state") == "FROZEN\n";
}

// The exec flags CRI-O and containerd users pass to runc.
TEST_F(Parity, ExecTakesRuncsFlags) {
  set_args({"sleep", "100"});
  ASSERT_EQ(hanok({"run", "-d", "--bundle", bundle(), "ex"}).exit_code, 0);
  Result r = hanok({"exec", "--cap", "CAP_NET_RAW", "--no-new-privs", "-g", "2000", "ex", "sh",
                    "-c", "grep -E '^(CapEff|NoNewPrivs|Groups)' /proc/self/status"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // The default spec's three capabilities (AUDIT_WRITE, KILL, NET_BIND_SERVICE) and NET_RAW.
  EXPECT_EQ(status_field(r.out, "CapEff"), "0000000020002420") << r.out;
  EXPECT_EQ(status_field(r.out, "NoNewPrivs"), "1");
  EXPECT_EQ(status_field(r.out, "Groups").rfind("2000", 0), 0u) << r.out;
  ASSERT_EQ(hanok({"pause", "ex"}).exit_code, 0);
  std::string pid_file = bundle() + "/exec.pid";
  Result paused =
      hanok({"exec", "--detach", "--ignore-paused", "--pid-file", pid_file, "ex", "sleep", "100"});
  ASSERT_EQ(paused.exit_code, 0) << paused.err;
  EXPECT_EQ(state("ex")["status"], "paused");
  // The new process is frozen with it: in the container's cgroup, all of which is frozen.
  int pid = std::stoi(isolate::read_file(pid_file));
  auto pids = nlohmann::json::parse(hanok({"ps", "--format", "json", "ex"}).out);
  EXPECT_NE(std::find(pids.begin(), pids.end(), pid), pids.end()) << pid << " not in " << pids;
  std::string cgroup = cgroup_parent() + "/ex";
  EXPECT_TRUE(cgroup_frozen(cgroup));
  ASSERT_EQ(hanok({"resume", "ex"}).exit_code, 0);
  EXPECT_FALSE(cgroup_frozen(cgroup));
  EXPECT_TRUE(process_running(pid));
}

}  // namespace
}  // namespace hanok::test
