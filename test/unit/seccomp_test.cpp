#include "isolate/seccomp.hpp"

#include <gtest/gtest.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <functional>
#include <stdexcept>
#include <string>

namespace hanok::isolate {
namespace {

constexpr int kChildFailed = 250;

// Runs `body` in a forked child and returns its exit code (or -signal when it was killed).
int run_in_child(const std::function<int()>& body) {
  const pid_t pid = ::fork();
  if (pid < 0) return -1000;
  if (pid == 0) {
    int code = kChildFailed;
    try {
      code = body();
    } catch (...) {
    }
    ::_exit(code);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1001;
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return -WTERMSIG(status);
  return -1002;
}

// Loads `program` into the (forked) calling process: 0 or a code above 200 for the parent.
int install(const SeccompProgram& program) {
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return 201;
  if (load_seccomp(program) != 0) return 202;
  return 0;
}

SeccompRule rule(std::vector<std::string> names, SeccompAction action,
                 std::optional<uint32_t> errno_ret = std::nullopt,
                 std::vector<SeccompArg> args = {}) {
  SeccompRule r;
  r.names = std::move(names);
  r.action = action;
  r.errno_ret = errno_ret;
  r.args = std::move(args);
  return r;
}

SeccompArg arg_eq(unsigned index, uint64_t value) {
  SeccompArg a;
  a.index = index;
  a.value = value;
  a.op = SeccompOperator::EqualTo;
  return a;
}

std::string temp_dir_name(const char* tag) {
  return "/tmp/hanok-seccomp-" + std::string(tag) + "-" + std::to_string(::getpid());
}

TEST(SeccompNames, ActionsBothWays) {
  EXPECT_EQ(seccomp_action_from_name("SCMP_ACT_KILL"), SeccompAction::KillThread);
  EXPECT_EQ(seccomp_action_from_name("SCMP_ACT_KILL_THREAD"), SeccompAction::KillThread);
  EXPECT_EQ(seccomp_action_from_name("SCMP_ACT_KILL_PROCESS"), SeccompAction::KillProcess);
  EXPECT_EQ(seccomp_action_from_name("SCMP_ACT_TRAP"), SeccompAction::Trap);
  EXPECT_EQ(seccomp_action_from_name("SCMP_ACT_ERRNO"), SeccompAction::Errno);
  EXPECT_EQ(seccomp_action_from_name("SCMP_ACT_TRACE"), SeccompAction::Trace);
  EXPECT_EQ(seccomp_action_from_name("SCMP_ACT_ALLOW"), SeccompAction::Allow);
  EXPECT_EQ(seccomp_action_from_name("SCMP_ACT_LOG"), SeccompAction::Log);
  EXPECT_EQ(seccomp_action_from_name("SCMP_ACT_NOTIFY"), SeccompAction::Notify);
  EXPECT_EQ(seccomp_action_from_name("SCMP_ACT_allow"), std::nullopt);
  EXPECT_EQ(seccomp_action_from_name(""), std::nullopt);
  EXPECT_EQ(seccomp_action_from_name("SCMP_ACT_KILL_ALL"), std::nullopt);

  const auto names = seccomp_action_names();
  EXPECT_EQ(names.size(), 9u);
  for (const auto& name : names) EXPECT_TRUE(seccomp_action_from_name(name)) << name;
}

TEST(SeccompNames, Operators) {
  EXPECT_EQ(seccomp_operator_from_name("SCMP_CMP_NE"), SeccompOperator::NotEqual);
  EXPECT_EQ(seccomp_operator_from_name("SCMP_CMP_LT"), SeccompOperator::LessThan);
  EXPECT_EQ(seccomp_operator_from_name("SCMP_CMP_LE"), SeccompOperator::LessEqual);
  EXPECT_EQ(seccomp_operator_from_name("SCMP_CMP_EQ"), SeccompOperator::EqualTo);
  EXPECT_EQ(seccomp_operator_from_name("SCMP_CMP_GE"), SeccompOperator::GreaterEqual);
  EXPECT_EQ(seccomp_operator_from_name("SCMP_CMP_GT"), SeccompOperator::GreaterThan);
  EXPECT_EQ(seccomp_operator_from_name("SCMP_CMP_MASKED_EQ"), SeccompOperator::MaskedEqual);
  EXPECT_EQ(seccomp_operator_from_name("SCMP_CMP_XX"), std::nullopt);

  const auto names = seccomp_operator_names();
  EXPECT_EQ(names.size(), 7u);
  for (const auto& name : names) EXPECT_TRUE(seccomp_operator_from_name(name)) << name;
}

TEST(SeccompNames, ArchitecturesAndFlags) {
  for (const char* arch :
       {"SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64",
        "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL",
        "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64",
        "SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390", "SCMP_ARCH_S390X", "SCMP_ARCH_PARISC",
        "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64"}) {
    EXPECT_TRUE(seccomp_arch_known(arch)) << arch;
  }
  EXPECT_FALSE(seccomp_arch_known("SCMP_ARCH_VAX"));
  EXPECT_FALSE(seccomp_arch_known("x86_64"));
  EXPECT_EQ(seccomp_arch_names().size(), 19u);

  for (const char* flag :
       {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
        "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"}) {
    EXPECT_TRUE(seccomp_flag_known(flag)) << flag;
  }
  EXPECT_FALSE(seccomp_flag_known("SECCOMP_FILTER_FLAG_NEW_LISTENER"));
  EXPECT_EQ(seccomp_flag_names().size(), 4u);
}

TEST(SeccompCompile, SmallProfileGivesAProgram) {
  SeccompProfile profile;
  profile.default_action = SeccompAction::Errno;
  profile.syscalls.push_back(rule({"read", "write", "exit_group", "openat"}, SeccompAction::Allow));
  const SeccompProgram program = compile_seccomp(profile);
  EXPECT_GT(program.instructions.size(), 4u);
  EXPECT_EQ(program.filter_flags, 0u);
}

TEST(SeccompCompile, FlagsMapToKernelBits) {
  SeccompProfile profile;
  profile.flags = {"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                   "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"};
  const SeccompProgram program = compile_seccomp(profile);
  EXPECT_EQ(program.filter_flags, (1u << 0) | (1u << 1) | (1u << 2) | (1u << 5));
}

TEST(SeccompCompile, UnknownFlagIsAnError) {
  SeccompProfile profile;
  profile.flags = {"SECCOMP_FILTER_FLAG_BOGUS"};
  EXPECT_THROW(compile_seccomp(profile), std::runtime_error);
}

TEST(SeccompCompile, UnknownSyscallNamesAreSkipped) {
  SeccompProfile profile;
  profile.default_action = SeccompAction::Allow;
  profile.syscalls.push_back(
      rule({"hanok_no_such_syscall", "mkdir"}, SeccompAction::Errno, uint32_t{1}));
  profile.syscalls.push_back(rule({"another_made_up_call"}, SeccompAction::KillProcess));
  EXPECT_NO_THROW({
    const SeccompProgram program = compile_seccomp(profile);
    EXPECT_FALSE(program.instructions.empty());
  });
}

// libseccomp refuses a rule whose action (errno included) is the default one: such a rule changes
// nothing and is left out, and the filter does what the profile says. Every call is made with
// syscall(2), so that the C library makes none of its own.
TEST(SeccompCompile, RuleWithTheDefaultActionIsAccepted) {
  SeccompProfile profile;
  profile.default_action = SeccompAction::Errno;  // EPERM
  profile.syscalls.push_back(rule({"mkdir"}, SeccompAction::Errno));
  profile.syscalls.push_back(rule({"rmdir"}, SeccompAction::Errno, uint32_t{EPERM}));
  profile.syscalls.push_back(rule({"getppid"}, SeccompAction::Errno, uint32_t{ENOSYS}));
  profile.syscalls.push_back(rule({"getpid", "exit", "exit_group"}, SeccompAction::Allow));
  const SeccompProgram program = compile_seccomp(profile);
  const std::string dir = temp_dir_name("default-action");
  const int code = run_in_child([&]() -> int {
    if (int rc = install(program); rc != 0) return rc;
    if (::syscall(SYS_mkdir, dir.c_str(), 0700) != -1 || errno != EPERM) return 10;
    if (::syscall(SYS_rmdir, "/") != -1 || errno != EPERM) return 11;
    if (::syscall(SYS_getppid) != -1 || errno != ENOSYS) return 12;
    if (::syscall(SYS_getpid) <= 0) return 13;
    if (::syscall(SYS_getuid) != -1 || errno != EPERM) return 14;  // named nowhere: the default
    return 0;
  });
  EXPECT_EQ(code, 0);
  ::rmdir(dir.c_str());

  SeccompProfile allow;  // the default: allow
  allow.syscalls.push_back(rule({"getpid"}, SeccompAction::Allow));
  allow.syscalls.push_back(rule({"getppid"}, SeccompAction::Errno, uint32_t{ENOSYS}));
  const SeccompProgram allowing = compile_seccomp(allow);
  const int allowed = run_in_child([&]() -> int {
    if (int rc = install(allowing); rc != 0) return rc;
    if (::syscall(SYS_getpid) <= 0) return 10;
    if (::syscall(SYS_getppid) != -1 || errno != ENOSYS) return 11;
    return 0;
  });
  EXPECT_EQ(allowed, 0);
}

TEST(SeccompCompile, ForeignArchitecturesAndMultiArchProfile) {
  SeccompProfile native;
  native.default_action = SeccompAction::Errno;
  native.syscalls.push_back(rule({"read", "write", "socketcall"}, SeccompAction::Allow));
  const size_t native_size = compile_seccomp(native).instructions.size();

  SeccompProfile multi = native;
  multi.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
  EXPECT_GE(compile_seccomp(multi).instructions.size(), native_size);

  SeccompProfile bogus = native;
  bogus.architectures = {"SCMP_ARCH_VAX"};
  EXPECT_THROW(compile_seccomp(bogus), std::runtime_error);
}

TEST(SeccompCompile, ArgumentIndexOutOfRangeNamesTheRule) {
  SeccompProfile profile;
  profile.syscalls.push_back(rule({"read"}, SeccompAction::Errno));
  profile.syscalls.push_back(rule({"write"}, SeccompAction::Errno, std::nullopt, {arg_eq(6, 1)}));
  try {
    compile_seccomp(profile);
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("syscalls[1]"), std::string::npos) << e.what();
  }
}

TEST(SeccompCompile, NotifyCannotBeTheDefault) {
  SeccompProfile profile;
  profile.default_action = SeccompAction::Notify;
  EXPECT_THROW(compile_seccomp(profile), std::runtime_error);
}

TEST(SeccompLoad, EmptyProgramIsRefused) {
  SeccompProgram program;
  EXPECT_EQ(load_seccomp(program), -EINVAL);
}

TEST(SeccompBehaviour, ErrnoRuleReturnsTheGivenErrno) {
  SeccompProfile profile;
  profile.default_action = SeccompAction::Allow;
  profile.syscalls.push_back(rule({"mkdirat", "mkdir"}, SeccompAction::Errno, uint32_t{38}));
  const SeccompProgram program = compile_seccomp(profile);
  const std::string dir = temp_dir_name("errno");

  const int code = run_in_child([&]() -> int {
    if (int rc = install(program); rc != 0) return rc;
    if (::mkdir(dir.c_str(), 0700) == 0) {
      ::rmdir(dir.c_str());
      return 0;
    }
    return errno;
  });
  EXPECT_EQ(code, ENOSYS);
  ::rmdir(dir.c_str());
}

TEST(SeccompBehaviour, WithoutTheFilterMkdirWorks) {
  // The control for the test above: the same child code, no filter.
  const std::string dir = temp_dir_name("control");
  const int code = run_in_child([&]() -> int {
    if (::mkdir(dir.c_str(), 0700) == 0) {
      ::rmdir(dir.c_str());
      return 0;
    }
    return errno;
  });
  EXPECT_EQ(code, 0);
}

TEST(SeccompBehaviour, ArgumentRuleMatchesOnlyThatValue) {
  SeccompProfile profile;
  profile.default_action = SeccompAction::Allow;
  profile.syscalls.push_back(
      rule({"personality"}, SeccompAction::Errno, uint32_t{EPERM}, {arg_eq(0, 0xffffffffu)}));
  const SeccompProgram program = compile_seccomp(profile);

  const int code = run_in_child([&]() -> int {
    if (int rc = install(program); rc != 0) return rc;
    errno = 0;
    if (::personality(0xffffffffUL) != -1 || errno != EPERM) return 10;
    if (::personality(PER_LINUX) == -1) return 11;
    return 0;
  });
  EXPECT_EQ(code, 0);
}

TEST(SeccompBehaviour, ConditionsOnOneArgumentAreAlternatives) {
  // Two conditions on the same argument: OCI means "either", so both values are refused.
  SeccompProfile profile;
  profile.default_action = SeccompAction::Allow;
  profile.syscalls.push_back(rule({"personality"}, SeccompAction::Errno, uint32_t{EACCES},
                                  {arg_eq(0, 0xffffffffu), arg_eq(0, PER_LINUX32)}));
  const SeccompProgram program = compile_seccomp(profile);

  const int code = run_in_child([&]() -> int {
    if (int rc = install(program); rc != 0) return rc;
    errno = 0;
    if (::personality(0xffffffffUL) != -1 || errno != EACCES) return 10;
    errno = 0;
    if (::personality(PER_LINUX32) != -1 || errno != EACCES) return 11;
    if (::personality(PER_LINUX) == -1) return 12;
    return 0;
  });
  EXPECT_EQ(code, 0);
}

TEST(SeccompBehaviour, DefaultErrnoIsEperm) {
  SeccompProfile profile;
  profile.default_action = SeccompAction::Allow;
  profile.syscalls.push_back(rule({"getppid"}, SeccompAction::Errno));
  const SeccompProgram program = compile_seccomp(profile);

  const int code = run_in_child([&]() -> int {
    if (int rc = install(program); rc != 0) return rc;
    // The libc wrapper assumes getppid cannot fail and leaves errno alone.
    errno = 0;
    if (::syscall(SYS_getppid) != -1) return 10;
    return errno;
  });
  EXPECT_EQ(code, EPERM);
}

}  // namespace
}  // namespace hanok::isolate
