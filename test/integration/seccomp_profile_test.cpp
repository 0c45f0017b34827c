// seccomp profiles written before the system calls a C library now uses: a Docker default
// profile of 2018 (default errno, an allow list without clone3, openat2, close_range, rseq...).
// The container must run, newer calls must get ENOSYS (so libraries fall back), and every
// failure must still reach the caller with its cause.
#include <sys/syscall.h>

#include "harness.hpp"
#include "isolate/files.hpp"

namespace hanok::test {
namespace {

using SeccompProfile = ContainerTest;

// The x86_64 allow list of Docker's default profile as of 2018 (moby 18.06), without its
// argument-filtered entries (clone is allowed whole here).
const std::vector<std::string>& docker_2018_allow_list() {
  static const std::vector<std::string> names = {"accept",
                                                 "accept4",
                                                 "access",
                                                 "adjtimex",
                                                 "alarm",
                                                 "arch_prctl",
                                                 "bind",
                                                 "brk",
                                                 "capget",
                                                 "capset",
                                                 "chdir",
                                                 "chmod",
                                                 "chown",
                                                 "clock_getres",
                                                 "clock_gettime",
                                                 "clock_nanosleep",
                                                 "clone",
                                                 "close",
                                                 "connect",
                                                 "copy_file_range",
                                                 "creat",
                                                 "dup",
                                                 "dup2",
                                                 "dup3",
                                                 "epoll_create",
                                                 "epoll_create1",
                                                 "epoll_ctl",
                                                 "epoll_pwait",
                                                 "epoll_wait",
                                                 "eventfd",
                                                 "eventfd2",
                                                 "execve",
                                                 "execveat",
                                                 "exit",
                                                 "exit_group",
                                                 "faccessat",
                                                 "fadvise64",
                                                 "fallocate",
                                                 "fanotify_mark",
                                                 "fchdir",
                                                 "fchmod",
                                                 "fchmodat",
                                                 "fchown",
                                                 "fchownat",
                                                 "fcntl",
                                                 "fdatasync",
                                                 "fgetxattr",
                                                 "flistxattr",
                                                 "flock",
                                                 "fork",
                                                 "fremovexattr",
                                                 "fsetxattr",
                                                 "fstat",
                                                 "fstatfs",
                                                 "fsync",
                                                 "ftruncate",
                                                 "futex",
                                                 "futimesat",
                                                 "getcpu",
                                                 "getcwd",
                                                 "getdents",
                                                 "getdents64",
                                                 "getegid",
                                                 "geteuid",
                                                 "getgid",
                                                 "getgroups",
                                                 "getitimer",
                                                 "getpeername",
                                                 "getpgid",
                                                 "getpgrp",
                                                 "getpid",
                                                 "getppid",
                                                 "getpriority",
                                                 "getrandom",
                                                 "getresgid",
                                                 "getresuid",
                                                 "getrlimit",
                                                 "get_robust_list",
                                                 "getrusage",
                                                 "getsid",
                                                 "getsockname",
                                                 "getsockopt",
                                                 "get_thread_area",
                                                 "gettid",
                                                 "gettimeofday",
                                                 "getuid",
                                                 "getxattr",
                                                 "inotify_add_watch",
                                                 "inotify_init",
                                                 "inotify_init1",
                                                 "inotify_rm_watch",
                                                 "io_cancel",
                                                 "ioctl",
                                                 "io_destroy",
                                                 "io_getevents",
                                                 "ioprio_get",
                                                 "ioprio_set",
                                                 "io_setup",
                                                 "io_submit",
                                                 "kill",
                                                 "lchown",
                                                 "lgetxattr",
                                                 "link",
                                                 "linkat",
                                                 "listen",
                                                 "listxattr",
                                                 "llistxattr",
                                                 "lremovexattr",
                                                 "lseek",
                                                 "lsetxattr",
                                                 "lstat",
                                                 "madvise",
                                                 "memfd_create",
                                                 "mincore",
                                                 "mkdir",
                                                 "mkdirat",
                                                 "mknod",
                                                 "mknodat",
                                                 "mlock",
                                                 "mlock2",
                                                 "mlockall",
                                                 "mmap",
                                                 "modify_ldt",
                                                 "mprotect",
                                                 "mq_getsetattr",
                                                 "mq_notify",
                                                 "mq_open",
                                                 "mq_timedreceive",
                                                 "mq_timedsend",
                                                 "mq_unlink",
                                                 "mremap",
                                                 "msgctl",
                                                 "msgget",
                                                 "msgrcv",
                                                 "msgsnd",
                                                 "msync",
                                                 "munlock",
                                                 "munlockall",
                                                 "munmap",
                                                 "nanosleep",
                                                 "newfstatat",
                                                 "open",
                                                 "openat",
                                                 "pause",
                                                 "personality",
                                                 "pipe",
                                                 "pipe2",
                                                 "poll",
                                                 "ppoll",
                                                 "prctl",
                                                 "pread64",
                                                 "preadv",
                                                 "preadv2",
                                                 "prlimit64",
                                                 "pselect6",
                                                 "pwrite64",
                                                 "pwritev",
                                                 "pwritev2",
                                                 "read",
                                                 "readahead",
                                                 "readlink",
                                                 "readlinkat",
                                                 "readv",
                                                 "recvfrom",
                                                 "recvmmsg",
                                                 "recvmsg",
                                                 "remap_file_pages",
                                                 "removexattr",
                                                 "rename",
                                                 "renameat",
                                                 "renameat2",
                                                 "restart_syscall",
                                                 "rmdir",
                                                 "rt_sigaction",
                                                 "rt_sigpending",
                                                 "rt_sigprocmask",
                                                 "rt_sigqueueinfo",
                                                 "rt_sigreturn",
                                                 "rt_sigsuspend",
                                                 "rt_sigtimedwait",
                                                 "rt_tgsigqueueinfo",
                                                 "sched_getaffinity",
                                                 "sched_getattr",
                                                 "sched_getparam",
                                                 "sched_get_priority_max",
                                                 "sched_get_priority_min",
                                                 "sched_getscheduler",
                                                 "sched_rr_get_interval",
                                                 "sched_setaffinity",
                                                 "sched_setattr",
                                                 "sched_setparam",
                                                 "sched_setscheduler",
                                                 "sched_yield",
                                                 "seccomp",
                                                 "select",
                                                 "semctl",
                                                 "semget",
                                                 "semop",
                                                 "semtimedop",
                                                 "sendfile",
                                                 "sendmmsg",
                                                 "sendmsg",
                                                 "sendto",
                                                 "setfsgid",
                                                 "setfsuid",
                                                 "setgid",
                                                 "setgroups",
                                                 "setitimer",
                                                 "setpgid",
                                                 "setpriority",
                                                 "setregid",
                                                 "setresgid",
                                                 "setresuid",
                                                 "setreuid",
                                                 "setrlimit",
                                                 "set_robust_list",
                                                 "setsid",
                                                 "setsockopt",
                                                 "set_thread_area",
                                                 "set_tid_address",
                                                 "setuid",
                                                 "setxattr",
                                                 "shmat",
                                                 "shmctl",
                                                 "shmdt",
                                                 "shmget",
                                                 "shutdown",
                                                 "sigaltstack",
                                                 "signalfd",
                                                 "signalfd4",
                                                 "socket",
                                                 "socketpair",
                                                 "splice",
                                                 "stat",
                                                 "statfs",
                                                 "statx",
                                                 "symlink",
                                                 "symlinkat",
                                                 "sync",
                                                 "sync_file_range",
                                                 "syncfs",
                                                 "sysinfo",
                                                 "tee",
                                                 "tgkill",
                                                 "time",
                                                 "timer_create",
                                                 "timer_delete",
                                                 "timerfd_create",
                                                 "timerfd_gettime",
                                                 "timerfd_settime",
                                                 "timer_getoverrun",
                                                 "timer_gettime",
                                                 "timer_settime",
                                                 "times",
                                                 "tkill",
                                                 "truncate",
                                                 "umask",
                                                 "uname",
                                                 "unlink",
                                                 "unlinkat",
                                                 "utime",
                                                 "utimensat",
                                                 "utimes",
                                                 "vfork",
                                                 "vmsplice",
                                                 "wait4",
                                                 "waitid",
                                                 "write",
                                                 "writev"};
  return names;
}

nlohmann::json docker_2018_profile() {
  return {{"defaultAction", "SCMP_ACT_ERRNO"},
          {"architectures", {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}},
          {"syscalls", {{{"names", docker_2018_allow_list()}, {"action", "SCMP_ACT_ALLOW"}}}}};
}

TEST_F(SeccompProfile, OlderProfileRunsWithAndWithoutNoNewPrivileges) {
  config()["linux"]["seccomp"] = docker_2018_profile();
  for (bool no_new_privileges : {true, false}) {
    config()["process"]["noNewPrivileges"] = no_new_privileges;
    set_shell("echo hello; grep ^Seccomp: /proc/self/status");
    Result r = run_container(no_new_privileges ? "nnp" : "privs");
    EXPECT_EQ(r.exit_code, 0) << "noNewPrivileges " << no_new_privileges << ": " << r.err;
    EXPECT_EQ(r.out, "hello\nSeccomp:\t2\n") << r.err;
  }
}

TEST_F(SeccompProfile, SyscallsNewerThanTheProfileGetEnosys) {
  config()["linux"]["seccomp"] = docker_2018_profile();
  // clone3 (435), close_range (436), openat2 (437): newer than every call the profile names.
  // kexec_load (246) is older and not allowed: the profile's own errno (EPERM).
  set_shell(
      "hanok-probe syscall 435; hanok-probe syscall 436 3 3; hanok-probe syscall 437; "
      "hanok-probe syscall 246; hanok-probe syscall " +
      std::to_string(SYS_getppid));
  Result r = run_container();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "errno 38\nerrno 38\nerrno 38\nerrno 1\nok\n");
}

TEST_F(SeccompProfile, AFailedExecIsReportedWithItsCause) {
  // An executable file whose interpreter does not exist: execve itself fails, after seccomp.
  isolate::write_file_atomic(rootfs() + "/broken", "#!/no/such/interpreter\n", 0755);
  config()["linux"]["seccomp"] = docker_2018_profile();
  for (bool no_new_privileges : {true, false}) {
    config()["process"]["noNewPrivileges"] = no_new_privileges;
    set_args({"/broken"});
    std::string id = no_new_privileges ? "nnp" : "privs";
    Result r = run_container(id);
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find("exec /broken: No such file or directory"), std::string::npos)
        << "noNewPrivileges " << no_new_privileges << ": " << r.err;

    // create + start: start reports it, and the container is stopped.
    ASSERT_EQ(hanok({"create", "--bundle", bundle(), id + "-c"}).exit_code, 0);
    Result start = hanok({"start", id + "-c"});
    EXPECT_NE(start.exit_code, 0);
    EXPECT_NE(start.err.find("exec /broken: No such file or directory"), std::string::npos)
        << start.err;
    EXPECT_TRUE(wait_for_status(id + "-c", "stopped"));
  }
}

}  // namespace
}  // namespace hanok::test
