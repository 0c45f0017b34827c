// What a process sees from inside its container.
#include <sys/stat.h>

#include "../common/require.hpp"
#include "harness.hpp"
#include "isolate/files.hpp"

namespace hanok::test {
namespace {

using InsideView = ContainerTest;

TEST_F(InsideView, ProcessIsPidOneInItsOwnPidNamespace) {
  set_shell("echo $$");
  Result r = run_container();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "1\n");
}

TEST_F(InsideView, HostnameAndDomainnameAreSet) {
  config()["hostname"] = "it-host";
  config()["domainname"] = "it.example";
  set_shell("hostname; cat /proc/sys/kernel/domainname");
  Result r = run_container();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "it-host\nit.example\n");
}

TEST_F(InsideView, UserGroupsAndUmask) {
  config()["process"]["user"] = {
      {"uid", 1000}, {"gid", 1000}, {"additionalGids", {2000, 3000}}, {"umask", 027}};
  set_shell("grep -E '^(Uid|Gid|Groups)' /proc/self/status; umask");
  Result r = run_container();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(status_field(r.out, "Uid"), "1000\t1000\t1000\t1000");
  EXPECT_EQ(status_field(r.out, "Gid"), "1000\t1000\t1000\t1000");
  EXPECT_EQ(status_field(r.out, "Groups").substr(0, 9), "2000 3000");
  EXPECT_NE(r.out.find("0027"), std::string::npos) << r.out;
}

TEST_F(InsideView, CapabilitySetsOfANonRootProcess) {
  config()["process"]["user"] = {{"uid", 1000}, {"gid", 1000}};
  config()["process"]["capabilities"] = {
      {"bounding", {"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"}},
      {"effective", {"CAP_KILL"}},
      {"permitted", {"CAP_CHOWN", "CAP_KILL"}},
      {"inheritable", {"CAP_CHOWN", "CAP_KILL"}},
      {"ambient", {"CAP_KILL"}}};
  set_shell("cat /proc/self/status");
  Result r = run_container();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // After execve a non-root process keeps its ambient set as permitted and effective.
  EXPECT_EQ(status_field(r.out, "CapBnd"), "0000000000000421");
  EXPECT_EQ(status_field(r.out, "CapInh"), "0000000000000021");
  EXPECT_EQ(status_field(r.out, "CapPrm"), "0000000000000020");
  EXPECT_EQ(status_field(r.out, "CapEff"), "0000000000000020");
  EXPECT_EQ(status_field(r.out, "CapAmb"), "0000000000000020");
}

TEST_F(InsideView, RootGetsItsBoundingSetAndNoNewPrivileges) {
  config()["process"]["capabilities"] = {{"bounding", {"CAP_CHOWN", "CAP_SYS_ADMIN"}},
                                         {"effective", {"CAP_CHOWN", "CAP_SYS_ADMIN"}},
                                         {"permitted", {"CAP_CHOWN", "CAP_SYS_ADMIN"}}};
  config()["process"]["noNewPrivileges"] = true;
  set_shell("cat /proc/self/status");
  Result r = run_container();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(status_field(r.out, "CapBnd"), "0000000000200001");
  EXPECT_EQ(status_field(r.out, "CapEff"), "0000000000200001");
  EXPECT_EQ(status_field(r.out, "NoNewPrivs"), "1");
}

TEST_F(InsideView, SeccompDeniesWithTheConfiguredErrno) {
  config()["linux"]["seccomp"] = {{"defaultAction", "SCMP_ACT_ALLOW"},
                                  {"architectures", {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86"}},
                                  {"syscalls",
                                   {{{"names", {"mkdir", "mkdirat", "no_such_syscall_anywhere"}},
                                     {"action", "SCMP_ACT_ERRNO"},
                                     {"errnoRet", 38}}}}};
  config()["mounts"].push_back(
      {{"destination", "/scratch"}, {"type", "tmpfs"}, {"source", "tmpfs"}});
  set_shell(
      "grep ^Seccomp: /proc/self/status; mkdir /scratch/d 2>&1; echo rc=$?; touch /scratch/f && "
      "echo touched");
  Result r = run_container();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Seccomp:\t2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Function not implemented"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("rc=1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("touched"), std::string::npos) << r.out;
}

TEST_F(InsideView, SeccompArgumentRule) {
  // personality(0xffffffff) only queries; deny exactly that argument value with EPERM.
  config()["linux"]["seccomp"] = {
      {"defaultAction", "SCMP_ACT_ALLOW"},
      {"syscalls",
       {{{"names", {"personality"}},
         {"action", "SCMP_ACT_ERRNO"},
         {"errnoRet", 1},
         {"args", {{{"index", 0}, {"value", 8}, {"op", "SCMP_CMP_EQ"}}}}}}}};
  // busybox `setarch linux64` calls personality(PER_LINUX32=8)? use linux32 (8) and linux64 (0).
  set_shell("linux32 true 2>&1; echo rc32=$?; linux64 true; echo rc64=$?");
  Result r = run_container();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("rc64=0"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("rc32=0"), std::string::npos) << r.out;
}

TEST_F(InsideView, ReadOnlyRootfs) {
  ASSERT_TRUE(config()["root"]["readonly"].get<bool>());
  set_shell("touch /newfile 2>&1; echo rc=$?");
  Result r = run_container();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Read-only file system"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("rc=1"), std::string::npos);
}

TEST_F(InsideView, WritableRootfsWhenNotReadonly) {
  config()["root"]["readonly"] = false;
  set_shell("echo data > /newfile && cat /newfile");
  Result r = run_container();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "data\n");
  EXPECT_TRUE(isolate::path_exists(bundle() + "/rootfs/newfile"));
}

TEST_F(InsideView, MaskedAndReadOnlyPaths) {
  // Files that exist (a kernel file and one of the image's), a directory, and a missing path.
  ASSERT_TRUE(isolate::path_exists("/proc/timer_list"));
  config()["linux"]["maskedPaths"] = {"/proc/timer_list", "/etc/fixture-data/hello.txt",
                                      "/sys/firmware", "/does/not/exist"};
  config()["linux"]["readonlyPaths"] = {"/proc/sys"};
  set_shell(
      "wc -c < /proc/timer_list; wc -c < /etc/fixture-data/hello.txt; "
      "stat -c %t:%T /proc/timer_list /etc/fixture-data/hello.txt; ls /sys/firmware | wc -l; "
      "sh -c 'echo 1 > /proc/sys/kernel/ns_last_pid' 2>&1; echo rc=$?; "
      "grep ' /proc/sys ' /proc/self/mountinfo; "
      "sed -n 's|^[^ ]* [^ ]* [^ ]* [^ ]* /sys/firmware \\([^ ]*\\).* - \\([^ ]*\\) .*|firmware: "
      "\\1 \\2|p' "
      "/proc/self/mountinfo");
  Result r = run_container();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // Both files are the null device (1:3) now; the directory an empty tmpfs, read-only, mounted
  // over it (whether or not the host's /sys/firmware has anything to hide).
  EXPECT_EQ(r.out.rfind("0\n0\n1:3\n1:3\n0\n", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("\nfirmware: ro,nosuid,nodev,noexec,relatime tmpfs\n"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("Read-only file system"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" /proc/sys ro,"), std::string::npos) << r.out;
}

TEST_F(InsideView, TmpfsMountOptions) {
  config()["mounts"].push_back(
      {{"destination", "/scratch"},
       {"type", "tmpfs"},
       {"source", "tmpfs"},
       {"options", {"nosuid", "nodev", "noexec", "size=1m", "mode=1770"}}});
  set_shell(
      "grep ' /scratch ' /proc/self/mountinfo; stat -c %a /scratch; df -k /scratch | tail -1");
  Result r = run_container();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("nosuid,nodev,noexec"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\n1770\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" 1024 "), std::string::npos) << r.out;
}

TEST_F(InsideView, ReadOnlyBindMount) {
  std::string shared = bundle() + "/shared";
  ::mkdir(shared.c_str(), 0755);
  isolate::write_file_atomic(shared + "/file", "from the host", 0644);
  config()["mounts"].push_back({{"destination", "/mnt/shared"},
                                {"type", "bind"},
                                {"source", shared},
                                {"options", {"rbind", "ro", "nosuid"}}});
  set_shell("cat /mnt/shared/file; echo; touch /mnt/shared/x 2>&1; echo rc=$?");
  Result r = run_container();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("from the host"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Read-only file system"), std::string::npos) << r.out;
}

TEST_F(InsideView, UserNamespaceMapping) {
  config()["linux"]["namespaces"].push_back({{"type", "user"}});
  config()["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
  config()["linux"]["gidMappings"] = {{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
  set_shell("cat /proc/self/uid_map /proc/self/gid_map; id -u; ls -l /dev/null");
  Result r = run_container();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("0     100000      65536"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\n0\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("1,   3"), std::string::npos) << r.out;
}

TEST_F(InsideView, RlimitsOomScoreAndSysctl) {
  config()["process"]["rlimits"] = {{{"type", "RLIMIT_NOFILE"}, {"soft", 512}, {"hard", 768}}};
  config()["process"]["oomScoreAdj"] = 500;
  config()["linux"]["sysctl"] = {{"net.ipv4.ip_forward", "1"}};
  set_shell("ulimit -n; ulimit -Hn; cat /proc/self/oom_score_adj /proc/sys/net/ipv4/ip_forward");
  Result r = run_container();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "512\n768\n500\n1\n");
}

// Sysctls are written once every mount is in place, through a procfs of the runtime's own: a
// read-only /proc/sys and a mask over the very file do not stop them (nor would a mount the
// config or the image put over it redirect them), in a user namespace too.
TEST_F(InsideView, SysctlsGoPastMasksAndReadOnlyPaths) {
  config()["linux"]["sysctl"] = {{"net.ipv4.ip_forward", "1"}, {"kernel.shmmni", "1234"}};
  config()["linux"]["maskedPaths"].push_back("/proc/sys/net/ipv4/ip_forward");
  // ip_forward sets conf/all/forwarding: the value seen past the mask.
  set_shell(
      "cat /proc/sys/net/ipv4/conf/all/forwarding /proc/sys/kernel/shmmni; "
      "wc -c < /proc/sys/net/ipv4/ip_forward; echo 7 > /proc/sys/kernel/shmmni || echo read-only");
  Result r = run_container();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "1\n1234\n0\nread-only\n") << r.err;

  config()["linux"]["namespaces"].push_back({{"type", "user"}});
  config()["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
  config()["linux"]["gidMappings"] = {{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
  r = run_container("userns");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "1\n1234\n0\nread-only\n") << r.err;
}

// A shell command that starts `command` as a runtime whose own oom_score_adj is `own`, without
// CAP_SYS_RESOURCE: the kernel then refuses it any score below the floor it inherited, which is
// `own` where this process holds the capability (the shell's write sets the floor too) and at
// most this process's score where it does not.
std::string as_runtime_with_oom_score(int own, const std::string& command) {
  return "echo " + std::to_string(own) +
         " > /proc/self/oom_score_adj && exec /usr/bin/setpriv --bounding-set -sys_resource -- " +
         command;
}

// A score the runtime may not set (below its own, without CAP_SYS_RESOURCE: containerd's
// restrict_oom_score_adj): the container gets the runtime's own, with a warning naming both. A
// score at or above its own, the container gets as it is, without a warning.
TEST_F(InsideView, OomScoreBelowTheRuntimeOwnIsRaisedToItWithAWarning) {
  const int own = 100;
  // -999 is below the floor unless this process, without the capability, inherited one lower.
  HANOK_REQUIRE(run_program({"/bin/sh", "-c",
                             as_runtime_with_oom_score(
                                 own, "/bin/sh -c 'echo -999 > /proc/self/oom_score_adj'")})
                        .exit_code != 0,
                "a runtime without CAP_SYS_RESOURCE may set oom_score_adj -999 here");
  set_shell("cat /proc/self/oom_score_adj");
  auto run = [&](int wanted, const std::string& id) {
    config()["process"]["oomScoreAdj"] = wanted;
    config()["linux"]["cgroupsPath"] = cgroup_parent() + "/" + id;
    write_config();
    return run_program(
        {"/bin/sh", "-c",
         as_runtime_with_oom_score(own, hanok_binary() + " --root " + state_root() +
                                            " run --bundle " + bundle() + " " + id)});
  };

  Result below = run(-999, "below");
  ASSERT_EQ(below.exit_code, 0) << below.err;
  EXPECT_EQ(below.out, "100\n");
  EXPECT_NE(below.err.find("process.oomScoreAdj -999 is below the runtime's own 100 and cannot be "
                           "set without CAP_SYS_RESOURCE; using 100"),
            std::string::npos)
      << below.err;

  Result above = run(own + 50, "above");
  ASSERT_EQ(above.exit_code, 0) << above.err;
  EXPECT_EQ(above.out, "150\n");
  EXPECT_EQ(above.err.find("oomScoreAdj"), std::string::npos) << above.err;
}

TEST_F(InsideView, DevicesAndDevLinks) {
  config()["linux"]["devices"] = {{{"path", "/dev/fuse-like"},
                                   {"type", "c"},
                                   {"major", 1},
                                   {"minor", 7},
                                   {"fileMode", 0640},
                                   {"uid", 0},
                                   {"gid", 0}}};
  set_shell(
      "ls -l /dev/fuse-like /dev/null /dev/zero /dev/urandom /dev/tty; readlink /dev/fd; readlink "
      "/dev/ptmx");
  Result r = run_container();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("crw-r-----"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("/proc/self/fd"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("pts/ptmx"), std::string::npos) << r.out;
}

TEST_F(InsideView, OnlyStdioReachesTheProcess) {
  // The init (sleep opens nothing) is looked at from a second process, so that nothing the
  // looking process opens shows up.
  set_args({"sleep", "100"});
  ASSERT_EQ(hanok({"run", "-d", "--bundle", bundle(), "fds"}).exit_code, 0);
  Result r = hanok({"exec", "fds", "ls", "/proc/1/fd"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "0\n1\n2\n");
}

TEST_F(InsideView, EnvAndCwd) {
  config()["process"]["env"] = {"PATH=/bin:/usr/bin", "GREETING=hi there"};
  config()["process"]["cwd"] = "/etc/fixture-data";
  set_shell("echo \"$GREETING\"; pwd; cat hello.txt");
  Result r = run_container();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "hi there\n/etc/fixture-data\nhello from the fixture\n");
}

}  // namespace
}  // namespace hanok::test
