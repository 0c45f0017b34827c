// seccomp filters: a profile compiled to classic BPF with libseccomp in the runtime, and loaded
// in the container's init with one system call (no library call after clone).
#pragma once

#include <linux/filter.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hanok::isolate {

enum class SeccompAction { KillThread, KillProcess, Trap, Errno, Trace, Allow, Log, Notify };
enum class SeccompOperator {
  NotEqual,
  LessThan,
  LessEqual,
  EqualTo,
  GreaterEqual,
  GreaterThan,
  MaskedEqual
};

struct SeccompArg {
  unsigned index = 0;
  uint64_t value = 0;
  uint64_t value_two = 0;
  SeccompOperator op = SeccompOperator::EqualTo;
};

struct SeccompRule {
  std::vector<std::string> names;
  SeccompAction action = SeccompAction::Allow;
  std::optional<uint32_t> errno_ret;
  std::vector<SeccompArg> args;
};

struct SeccompProfile {
  SeccompAction default_action = SeccompAction::Allow;
  std::optional<uint32_t> default_errno_ret;
  std::vector<std::string> architectures;  // "SCMP_ARCH_X86_64", ...
  std::vector<std::string> flags;          // "SECCOMP_FILTER_FLAG_LOG", ...
  std::vector<SeccompRule> syscalls;
};

// OCI names: "SCMP_ACT_ERRNO" -> Errno; "SCMP_CMP_EQ" -> EqualTo; nullopt when unknown.
std::optional<SeccompAction> seccomp_action_from_name(std::string_view name);
std::optional<SeccompOperator> seccomp_operator_from_name(std::string_view name);
bool seccomp_arch_known(std::string_view name);
bool seccomp_flag_known(std::string_view name);
std::vector<std::string> seccomp_action_names();
std::vector<std::string> seccomp_operator_names();
std::vector<std::string> seccomp_arch_names();
std::vector<std::string> seccomp_flag_names();

struct SeccompProgram {
  std::vector<sock_filter> instructions;
  unsigned int filter_flags = 0;  // SECCOMP_FILTER_FLAG_*
};

// Builds the BPF program. A syscall name libseccomp does not know is skipped (as runc does);
// errors name the rule: "seccomp: syscalls[3]: ...".
SeccompProgram compile_seccomp(const SeccompProfile& profile);

// Loads a compiled program into the calling thread with seccomp(2). Async-signal-safe: returns
// 0 or -errno. The caller sets no_new_privs or holds CAP_SYS_ADMIN.
int load_seccomp(const SeccompProgram& program) noexcept;

}  // namespace hanok::isolate
