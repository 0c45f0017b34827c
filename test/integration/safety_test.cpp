// Bad input is refused with the field named and leaves nothing behind; nothing escapes the root.
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <thread>

#include "harness.hpp"
#include "isolate/files.hpp"

namespace hanok::test {
namespace {

using Safety = ContainerTest;

std::string host_mounts() {
  return isolate::read_file("/proc/self/mountinfo");
}

// No state directory, and the host's mount table as it was (no bind of the rootfs left).
void expect_nothing_left(const std::string& state_root, const std::string& id,
                         const std::string& mounts_before) {
  EXPECT_FALSE(isolate::path_exists(state_root + "/" + id));
  EXPECT_EQ(host_mounts(), mounts_before);
}

TEST_F(Safety, InvalidConfigNamesTheFieldAndLeavesNothing) {
  config()["linux"]["namespaces"].push_back({{"type", "foo"}});
  std::string before = host_mounts();
  Result r = run_container("bad");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("linux.namespaces[5].type: unknown namespace \"foo\""), std::string::npos)
      << r.err;
  expect_nothing_left(state_root(), "bad", before);
}

TEST_F(Safety, FailedMountLeavesNothing) {
  config()["mounts"].push_back({{"destination", "/data"},
                                {"type", "bind"},
                                {"source", "/no/such/source"},
                                {"options", {"bind"}}});
  std::string before = host_mounts();
  Result r = run_container("badmount");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("/no/such/source"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("mounts[7]"), std::string::npos) << r.err;
  expect_nothing_left(state_root(), "badmount", before);
}

TEST_F(Safety, MissingExecutableFailsCreateAndLeavesNothing) {
  set_args({"/bin/not-there"});
  std::string before = host_mounts();
  Result r = hanok({"create", "--bundle", bundle(), "noexe"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("/bin/not-there"), std::string::npos) << r.err;
  expect_nothing_left(state_root(), "noexe", before);
}

TEST_F(Safety, MountThroughAnEscapingSymlinkStaysInsideTheRootfs) {
  std::string rootfs = this->rootfs();
  std::string outside = bundle() + "/outside";
  ::mkdir(outside.c_str(), 0755);
  // An absolute symlink and a relative one full of "..": both must resolve inside the rootfs.
  ASSERT_EQ(::symlink(outside.c_str(), (rootfs + "/abs-escape").c_str()), 0);
  ASSERT_EQ(::symlink("../../../../../../../..", (rootfs + "/rel-escape").c_str()), 0);
  config()["root"]["readonly"] = false;
  config()["mounts"].push_back(
      {{"destination", "/abs-escape/x"}, {"type", "tmpfs"}, {"source", "tmpfs"}});
  config()["mounts"].push_back(
      {{"destination", "/rel-escape/evil"}, {"type", "tmpfs"}, {"source", "tmpfs"}});
  set_shell("grep -c tmpfs /proc/self/mountinfo >/dev/null; echo ok");
  Result r = run_container("escape");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(isolate::path_exists(outside + "/x"));
  EXPECT_FALSE(isolate::path_exists("/evil"));
  EXPECT_TRUE(isolate::path_exists(rootfs + outside + "/x"));
  EXPECT_TRUE(isolate::path_exists(rootfs + "/evil"));
}

TEST_F(Safety, PreservedFdsReachTheContainerAndNothingElse) {
  set_args({"sleep", "100"});
  config()["linux"]["cgroupsPath"] = cgroup_parent() + "/pfd";
  write_config();
  // fd 3 of the runtime is an inherited file; --preserve-fds 1 passes it on, fd 4 is not passed.
  std::string script = "exec 3</etc/hostname 4</etc/hostname; exec " + hanok_binary() + " --root " +
                       state_root() + " run -d --preserve-fds 1 --bundle " + bundle() + " pfd";
  Result run = run_program({"/bin/sh", "-c", script});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  Result r = hanok({"exec", "pfd", "ls", "/proc/1/fd"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "0\n1\n2\n3\n");
  hanok({"delete", "--force", "pfd"});
}

// A caller with fd 3 closed asks for one preserved fd: the gap is /dev/null, never the runtime's
// own log (which containerd parses) or anything else the runtime opened.
TEST_F(Safety, APreservedFdGapNeverCarriesTheRuntimesLog) {
  std::string log = bundle() + "/log.json";
  set_shell("readlink /proc/self/fd/3");
  config()["linux"]["cgroupsPath"] = cgroup_parent() + "/gap";
  write_config();
  std::string script = "exec 3>&-; exec " + hanok_binary() + " --root " + state_root() + " --log " +
                       log + " --log-format json run --preserve-fds 1 --bundle " + bundle() +
                       " gap";
  Result r = run_program({"/bin/sh", "-c", script});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "/dev/null\n");
}

// The target of /proc/PID/exe as the test (which holds CAP_SYS_PTRACE) reads it.
std::string exe_of(pid_t pid) {
  char target[256] = {};
  ssize_t n =
      ::readlink(("/proc/" + std::to_string(pid) + "/exe").c_str(), target, sizeof target - 1);
  return n > 0 ? std::string(target, static_cast<size_t>(n)) : "";
}

// Whether a process with the runtime's user and capabilities, bar CAP_SYS_PTRACE, can look into
// `pid`'s /proc files (its exe link). The kernel refuses it for a process that is not dumpable.
bool peer_can_look_into(pid_t pid) {
  return run_program({"/usr/bin/setpriv", "--bounding-set", "-sys_ptrace", "--", "/bin/readlink",
                      "/proc/" + std::to_string(pid) + "/exe"})
             .exit_code == 0;
}

// While it lives, the test's hanok commands run without CAP_SYS_PTRACE, as the peer does (through
// a wrapper given as HANOK_TEST_BINARY): a holder of it passes the dumpable check, and a peer
// lacking a capability its target holds is refused anyway; so only dumpability tells them apart.
class HanokWithoutPtrace {
 public:
  explicit HanokWithoutPtrace(const std::string& dir) {
    if (const char* set = ::getenv("HANOK_TEST_BINARY")) previous_ = set;
    std::string wrapper = dir + "/hanok-without-ptrace";
    isolate::write_file_atomic(wrapper,
                               "#!/bin/sh\nexec /usr/bin/setpriv --bounding-set -sys_ptrace -- '" +
                                   hanok_binary() + "' \"$@\"\n",
                               0755);
    ::setenv("HANOK_TEST_BINARY", wrapper.c_str(), 1);
  }
  ~HanokWithoutPtrace() {
    if (previous_) {
      ::setenv("HANOK_TEST_BINARY", previous_->c_str(), 1);
    } else {
      ::unsetenv("HANOK_TEST_BINARY");
    }
  }
  HanokWithoutPtrace(const HanokWithoutPtrace&) = delete;
  HanokWithoutPtrace& operator=(const HanokWithoutPtrace&) = delete;

 private:
  std::optional<std::string> previous_;
};

void expect_sealed_and_not_dumpable(pid_t pid, const std::string& what) {
  std::string exe = exe_of(pid);
  EXPECT_EQ(exe.rfind("/memfd:hanok", 0), 0u) << what << " runs " << exe;
  EXPECT_FALSE(peer_can_look_into(pid)) << what << " is dumpable";
}

// The runtime's commands that enter a container (run, exec, create) run from a sealed copy of
// its binary, never the file on the host (CVE-2019-5736), and are not dumpable: a process with
// the same user and capabilities cannot look into their /proc files (only CAP_SYS_PTRACE passes
// that check, so these commands run without it here); the init that create leaves waiting for
// start neither. Once the container's program runs, it is a process like any other.
TEST_F(Safety, RuntimeRunsFromASealedCopyOfItsBinary) {
  set_args({"sleep", "100"});
  {
    HanokWithoutPtrace without_ptrace(bundle());
    pid_t runner = spawn_hanok({"run", "--bundle", bundle(), "sealed"});
    ASSERT_TRUE(wait_for_status("sealed", "running"));
    expect_sealed_and_not_dumpable(runner, "run");

    pid_t exec = spawn_hanok({"exec", "sealed", "sleep", "100"});
    auto processes = [&] {
      return nlohmann::json::parse(hanok({"ps", "--format", "json", "sealed"}).out).size();
    };
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (processes() < 2 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_EQ(processes(), 2u);
    expect_sealed_and_not_dumpable(exec, "exec");
    ASSERT_EQ(hanok({"kill", "sealed", "KILL"}).exit_code, 0);
    EXPECT_EQ(wait_background(runner), 137);
    wait_background(exec);

    ASSERT_EQ(hanok({"create", "--bundle", bundle(), "created"}).exit_code, 0);
  }
  // start, as a runtime does, with CAP_SYS_PTRACE: it looks at the init's executable.
  pid_t init = state("created")["pid"].get<int>();
  expect_sealed_and_not_dumpable(init, "the created container's init");
  ASSERT_EQ(hanok({"start", "created"}).exit_code, 0);
  EXPECT_EQ(exe_of(init).rfind("/memfd:", 0), std::string::npos) << exe_of(init);
  EXPECT_TRUE(peer_can_look_into(init)) << "the container's own program";
}

TEST_F(Safety, BadIdsAreRefused) {
  Result r = run_container("../escape");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("invalid container ID format"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace hanok::test
