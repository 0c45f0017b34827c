// Bad input is refused with the field named and leaves nothing behind; nothing escapes the root.
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
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

TEST_F(Safety, RuntimeRunsFromASealedCopyOfItsBinary) {
  set_args({"sleep", "100"});
  pid_t runner = spawn_hanok({"run", "--bundle", bundle(), "sealed"});
  ASSERT_TRUE(wait_for_status("sealed", "running"));
  char target[256] = {};
  ssize_t n =
      ::readlink(("/proc/" + std::to_string(runner) + "/exe").c_str(), target, sizeof target - 1);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(target).rfind("/memfd:hanok", 0), 0u) << target;
  ASSERT_EQ(hanok({"kill", "sealed", "KILL"}).exit_code, 0);
  EXPECT_EQ(wait_background(runner), 137);
}

TEST_F(Safety, BadIdsAreRefused) {
  Result r = run_container("../escape");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("invalid container ID format"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace hanok::test
