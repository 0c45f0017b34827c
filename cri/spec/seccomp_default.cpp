// The RuntimeDefault seccomp profile: the OCI runtime-spec `linux.seccomp` object that
// containerd v1.6.20 (contrib/seccomp/seccomp_default.go, DefaultProfile) computes on an amd64
// host, rebuilt here from tables. The rules come out in the same order as containerd's:
//   1. the syscalls every container may make;
//   2. personality(2), only with the personas listed below;
//   3. ptrace, when the host kernel is 4.8 or newer (older kernels let ptrace bypass seccomp);
//   4. the x86-64 specific syscalls;
//   5. one rule per capability in the bounding set that unlocks syscalls, in the set's order;
//   6. without CAP_SYS_ADMIN: clone without namespace flags, and clone3 failing with ENOSYS (its
//      flags live in memory seccomp cannot inspect, so callers must fall back to clone).
// Everything else fails with EPERM (SCMP_ACT_ERRNO with no defaultErrnoRet, as in containerd).
// Fields containerd leaves empty (args, errnoRet, a zero valueTwo) are omitted, as Go's
// `omitempty` JSON encoding omits them in the config.json the OCI runtime reads.
#include "seccomp_default.hpp"

#include <sys/utsname.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace hanok::cri {

namespace {

constexpr const char* kActionAllow = "SCMP_ACT_ALLOW";
constexpr const char* kActionErrno = "SCMP_ACT_ERRNO";
constexpr const char* kCompareEqual = "SCMP_CMP_EQ";
constexpr const char* kCompareMaskedEqual = "SCMP_CMP_MASKED_EQ";

// Native x86-64 plus the i386 and x32 ABIs an amd64 kernel also accepts.
constexpr std::array<const char*, 3> kArchitectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86",
                                                       "SCMP_ARCH_X32"};

// Allowed whatever the capabilities. Names that do not exist on x86-64 (the *32, *64 and
// *_time64 variants of 32-bit ABIs) are kept: they apply to the i386 ABI, and libseccomp ignores
// names unknown on an architecture.
constexpr auto kAlwaysAllowedSyscalls = std::to_array<std::string_view>({
    "accept",
    "accept4",
    "access",
    "adjtimex",
    "alarm",
    "bind",
    "brk",
    "capget",
    "capset",
    "chdir",
    "chmod",
    "chown",
    "chown32",
    "clock_adjtime",
    "clock_adjtime64",
    "clock_getres",
    "clock_getres_time64",
    "clock_gettime",
    "clock_gettime64",
    "clock_nanosleep",
    "clock_nanosleep_time64",
    "close",
    "close_range",
    "connect",
    "copy_file_range",
    "creat",
    "dup",
    "dup2",
    "dup3",
    "epoll_create",
    "epoll_create1",
    "epoll_ctl",
    "epoll_ctl_old",
    "epoll_pwait",
    "epoll_pwait2",
    "epoll_wait",
    "epoll_wait_old",
    "eventfd",
    "eventfd2",
    "execve",
    "execveat",
    "exit",
    "exit_group",
    "faccessat",
    "faccessat2",
    "fadvise64",
    "fadvise64_64",
    "fallocate",
    "fanotify_mark",
    "fchdir",
    "fchmod",
    "fchmodat",
    "fchown",
    "fchown32",
    "fchownat",
    "fcntl",
    "fcntl64",
    "fdatasync",
    "fgetxattr",
    "flistxattr",
    "flock",
    "fork",
    "fremovexattr",
    "fsetxattr",
    "fstat",
    "fstat64",
    "fstatat64",
    "fstatfs",
    "fstatfs64",
    "fsync",
    "ftruncate",
    "ftruncate64",
    "futex",
    "futex_time64",
    "futex_waitv",
    "futimesat",
    "getcpu",
    "getcwd",
    "getdents",
    "getdents64",
    "getegid",
    "getegid32",
    "geteuid",
    "geteuid32",
    "getgid",
    "getgid32",
    "getgroups",
    "getgroups32",
    "getitimer",
    "getpeername",
    "getpgid",
    "getpgrp",
    "getpid",
    "getppid",
    "getpriority",
    "getrandom",
    "getresgid",
    "getresgid32",
    "getresuid",
    "getresuid32",
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
    "getuid32",
    "getxattr",
    "inotify_add_watch",
    "inotify_init",
    "inotify_init1",
    "inotify_rm_watch",
    "io_cancel",
    "ioctl",
    "io_destroy",
    "io_getevents",
    "io_pgetevents",
    "io_pgetevents_time64",
    "ioprio_get",
    "ioprio_set",
    "io_setup",
    "io_submit",
    "io_uring_enter",
    "io_uring_register",
    "io_uring_setup",
    "ipc",
    "kill",
    "landlock_add_rule",
    "landlock_create_ruleset",
    "landlock_restrict_self",
    "lchown",
    "lchown32",
    "lgetxattr",
    "link",
    "linkat",
    "listen",
    "listxattr",
    "llistxattr",
    "_llseek",
    "lremovexattr",
    "lseek",
    "lsetxattr",
    "lstat",
    "lstat64",
    "madvise",
    "membarrier",
    "memfd_create",
    "memfd_secret",
    "mincore",
    "mkdir",
    "mkdirat",
    "mknod",
    "mknodat",
    "mlock",
    "mlock2",
    "mlockall",
    "mmap",
    "mmap2",
    "mprotect",
    "mq_getsetattr",
    "mq_notify",
    "mq_open",
    "mq_timedreceive",
    "mq_timedreceive_time64",
    "mq_timedsend",
    "mq_timedsend_time64",
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
    "_newselect",
    "open",
    "openat",
    "openat2",
    "pause",
    "pidfd_open",
    "pidfd_send_signal",
    "pipe",
    "pipe2",
    "pkey_alloc",
    "pkey_free",
    "pkey_mprotect",
    "poll",
    "ppoll",
    "ppoll_time64",
    "prctl",
    "pread64",
    "preadv",
    "preadv2",
    "prlimit64",
    "process_mrelease",
    "pselect6",
    "pselect6_time64",
    "pwrite64",
    "pwritev",
    "pwritev2",
    "read",
    "readahead",
    "readlink",
    "readlinkat",
    "readv",
    "recv",
    "recvfrom",
    "recvmmsg",
    "recvmmsg_time64",
    "recvmsg",
    "remap_file_pages",
    "removexattr",
    "rename",
    "renameat",
    "renameat2",
    "restart_syscall",
    "rmdir",
    "rseq",
    "rt_sigaction",
    "rt_sigpending",
    "rt_sigprocmask",
    "rt_sigqueueinfo",
    "rt_sigreturn",
    "rt_sigsuspend",
    "rt_sigtimedwait",
    "rt_sigtimedwait_time64",
    "rt_tgsigqueueinfo",
    "sched_getaffinity",
    "sched_getattr",
    "sched_getparam",
    "sched_get_priority_max",
    "sched_get_priority_min",
    "sched_getscheduler",
    "sched_rr_get_interval",
    "sched_rr_get_interval_time64",
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
    "semtimedop_time64",
    "send",
    "sendfile",
    "sendfile64",
    "sendmmsg",
    "sendmsg",
    "sendto",
    "setfsgid",
    "setfsgid32",
    "setfsuid",
    "setfsuid32",
    "setgid",
    "setgid32",
    "setgroups",
    "setgroups32",
    "setitimer",
    "setpgid",
    "setpriority",
    "setregid",
    "setregid32",
    "setresgid",
    "setresgid32",
    "setresuid",
    "setresuid32",
    "setreuid",
    "setreuid32",
    "setrlimit",
    "set_robust_list",
    "setsid",
    "setsockopt",
    "set_thread_area",
    "set_tid_address",
    "setuid",
    "setuid32",
    "setxattr",
    "shmat",
    "shmctl",
    "shmdt",
    "shmget",
    "shutdown",
    "sigaltstack",
    "signalfd",
    "signalfd4",
    "sigprocmask",
    "sigreturn",
    "socket",
    "socketcall",
    "socketpair",
    "splice",
    "stat",
    "stat64",
    "statfs",
    "statfs64",
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
    "timer_getoverrun",
    "timer_gettime",
    "timer_gettime64",
    "timer_settime",
    "timer_settime64",
    "timerfd_create",
    "timerfd_gettime",
    "timerfd_gettime64",
    "timerfd_settime",
    "timerfd_settime64",
    "times",
    "tkill",
    "truncate",
    "truncate64",
    "ugetrlimit",
    "umask",
    "uname",
    "unlink",
    "unlinkat",
    "utime",
    "utimensat",
    "utimensat_time64",
    "utimes",
    "vfork",
    "vmsplice",
    "wait4",
    "waitid",
    "waitpid",
    "write",
    "writev",
});

// personality(2) is allowed only to select these personas (args[0] equal to one of them).
constexpr std::array<std::uint64_t, 5> kAllowedPersonas = {
    0x0,         // PER_LINUX
    0x0008,      // PER_LINUX32
    0x20000,     // PER_LINUX | UNAME26
    0x20008,     // PER_LINUX32 | UNAME26
    0xffffffff,  // query the current persona without changing it
};

// Before Linux 4.8 a traced process could use ptrace to step around seccomp filters, so ptrace
// is only allowed on newer kernels.
constexpr struct {
  unsigned major;
  unsigned minor;
} kKernelWithSafePtrace = {4, 8};
constexpr auto kPtraceSyscalls = std::to_array<std::string_view>({"ptrace"});

constexpr auto kAmd64Syscalls = std::to_array<std::string_view>({"arch_prctl", "modify_ldt"});

// Syscalls unlocked by each capability.
constexpr auto kDacReadSearchSyscalls = std::to_array<std::string_view>({"open_by_handle_at"});
constexpr auto kSysAdminSyscalls = std::to_array<std::string_view>({
    "bpf",
    "clone",
    "clone3",
    "fanotify_init",
    "fsconfig",
    "fsmount",
    "fsopen",
    "fspick",
    "lookup_dcookie",
    "mount",
    "mount_setattr",
    "move_mount",
    "name_to_handle_at",
    "open_tree",
    "perf_event_open",
    "quotactl",
    "quotactl_fd",
    "setdomainname",
    "sethostname",
    "setns",
    "syslog",
    "umount",
    "umount2",
    "unshare",
});
constexpr auto kSysBootSyscalls = std::to_array<std::string_view>({"reboot"});
constexpr auto kSysChrootSyscalls = std::to_array<std::string_view>({"chroot"});
constexpr auto kSysModuleSyscalls =
    std::to_array<std::string_view>({"delete_module", "init_module", "finit_module"});
constexpr auto kSysPacctSyscalls = std::to_array<std::string_view>({"acct"});
constexpr auto kSysPtraceSyscalls = std::to_array<std::string_view>(
    {"kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev", "ptrace"});
constexpr auto kSysRawioSyscalls = std::to_array<std::string_view>({"iopl", "ioperm"});
constexpr auto kSysTimeSyscalls =
    std::to_array<std::string_view>({"settimeofday", "stime", "clock_settime", "clock_settime64"});
constexpr auto kSysTtyConfigSyscalls = std::to_array<std::string_view>({"vhangup"});
constexpr auto kSysNiceSyscalls =
    std::to_array<std::string_view>({"get_mempolicy", "mbind", "set_mempolicy"});
constexpr auto kSyslogSyscalls = std::to_array<std::string_view>({"syslog"});
constexpr auto kBpfSyscalls = std::to_array<std::string_view>({"bpf"});
constexpr auto kPerfmonSyscalls = std::to_array<std::string_view>({"perf_event_open"});

struct CapabilityGatedSyscalls {
  std::string_view capability;
  std::span<const std::string_view> syscalls;
};

constexpr std::string_view kSysAdmin = "CAP_SYS_ADMIN";

constexpr std::array<CapabilityGatedSyscalls, 14> kCapabilityGatedSyscalls = {{
    {"CAP_DAC_READ_SEARCH", kDacReadSearchSyscalls},
    {kSysAdmin, kSysAdminSyscalls},
    {"CAP_SYS_BOOT", kSysBootSyscalls},
    {"CAP_SYS_CHROOT", kSysChrootSyscalls},
    {"CAP_SYS_MODULE", kSysModuleSyscalls},
    {"CAP_SYS_PACCT", kSysPacctSyscalls},
    {"CAP_SYS_PTRACE", kSysPtraceSyscalls},
    {"CAP_SYS_RAWIO", kSysRawioSyscalls},
    {"CAP_SYS_TIME", kSysTimeSyscalls},
    {"CAP_SYS_TTY_CONFIG", kSysTtyConfigSyscalls},
    {"CAP_SYS_NICE", kSysNiceSyscalls},
    {"CAP_SYSLOG", kSyslogSyscalls},
    {"CAP_BPF", kBpfSyscalls},
    {"CAP_PERFMON", kPerfmonSyscalls},
}};

// Linux clone(2) flags that create namespaces (values from <linux/sched.h>). Without
// CAP_SYS_ADMIN, clone is allowed only when args[0] (the flags on x86-64) has none of them.
constexpr std::uint64_t kCloneNewNs = 0x00020000;
constexpr std::uint64_t kCloneNewCgroup = 0x02000000;
constexpr std::uint64_t kCloneNewUts = 0x04000000;
constexpr std::uint64_t kCloneNewIpc = 0x08000000;
constexpr std::uint64_t kCloneNewUser = 0x10000000;
constexpr std::uint64_t kCloneNewPid = 0x20000000;
constexpr std::uint64_t kCloneNewNet = 0x40000000;
constexpr std::uint64_t kCloneNamespaceFlags = kCloneNewNs | kCloneNewUts | kCloneNewIpc |
                                               kCloneNewUser | kCloneNewPid | kCloneNewNet |
                                               kCloneNewCgroup;

nlohmann::json names_of(std::span<const std::string_view> syscalls) {
  nlohmann::json names = nlohmann::json::array();
  for (std::string_view name : syscalls) names.push_back(std::string(name));
  return names;
}

nlohmann::json allow_rule(std::span<const std::string_view> syscalls) {
  return {{"names", names_of(syscalls)}, {"action", kActionAllow}};
}

// An allow rule for one syscall with one argument condition; `value_two` is only used by masked
// comparisons and is left out when zero.
nlohmann::json allow_rule_if(std::string_view syscall, unsigned arg_index, std::uint64_t value,
                             std::uint64_t value_two, const char* comparison) {
  nlohmann::json condition = {{"index", arg_index}, {"value", value}, {"op", comparison}};
  if (value_two != 0) condition["valueTwo"] = value_two;
  return {{"names", {std::string(syscall)}},
          {"action", kActionAllow},
          {"args", nlohmann::json::array({condition})}};
}

nlohmann::json errno_rule(std::string_view syscall, unsigned errno_value) {
  return {{"names", {std::string(syscall)}}, {"action", kActionErrno}, {"errnoRet", errno_value}};
}

// The host kernel is at least major.minor, reading "major.minor" from uname's release the way
// containerd does ("5.15.0-91-generic" is 5.15). Unknown (uname fails, release unparsable)
// counts as too old. Read once: the running kernel does not change.
bool host_kernel_at_least(unsigned major, unsigned minor) {
  static const std::optional<std::pair<unsigned, unsigned>> host_release =
      []() -> std::optional<std::pair<unsigned, unsigned>> {
    utsname names{};
    if (uname(&names) != 0) return std::nullopt;
    unsigned host_major = 0;
    unsigned host_minor = 0;
    if (std::sscanf(names.release, "%u.%u", &host_major, &host_minor) != 2) return std::nullopt;
    return std::pair{host_major, host_minor};
  }();
  if (!host_release) return false;
  return host_release->first > major ||
         (host_release->first == major && host_release->second >= minor);
}

}  // namespace

nlohmann::json default_seccomp_profile(const std::vector<std::string>& capabilities) {
  nlohmann::json rules = nlohmann::json::array();
  rules.push_back(allow_rule(kAlwaysAllowedSyscalls));
  for (std::uint64_t persona : kAllowedPersonas) {
    rules.push_back(allow_rule_if("personality", 0, persona, 0, kCompareEqual));
  }
  if (host_kernel_at_least(kKernelWithSafePtrace.major, kKernelWithSafePtrace.minor)) {
    rules.push_back(allow_rule(kPtraceSyscalls));
  }
  rules.push_back(allow_rule(kAmd64Syscalls));

  // One rule per matching capability, in the order of the set (a capability listed twice gives
  // two rules, as in containerd).
  bool has_sys_admin = false;
  for (const std::string& capability : capabilities) {
    if (capability == kSysAdmin) has_sys_admin = true;
    for (const CapabilityGatedSyscalls& gated : kCapabilityGatedSyscalls) {
      if (gated.capability == capability) rules.push_back(allow_rule(gated.syscalls));
    }
  }

  if (!has_sys_admin) {
    rules.push_back(allow_rule_if("clone", 0, kCloneNamespaceFlags, 0, kCompareMaskedEqual));
    rules.push_back(errno_rule("clone3", ENOSYS));
  }

  return {{"defaultAction", kActionErrno},
          {"architectures", kArchitectures},
          {"syscalls", std::move(rules)}};
}

}  // namespace hanok::cri
