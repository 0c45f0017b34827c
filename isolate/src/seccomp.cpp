// seccomp profiles compiled to classic BPF with libseccomp, loaded with seccomp(2).
#include "isolate/seccomp.hpp"

#include <linux/audit.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <utility>

#include "isolate/error.hpp"
#include "isolate/unique_fd.hpp"

#ifndef SECCOMP_FILTER_FLAG_LOG
#define SECCOMP_FILTER_FLAG_LOG (1UL << 1)
#endif
#ifndef SECCOMP_FILTER_FLAG_SPEC_ALLOW
#define SECCOMP_FILTER_FLAG_SPEC_ALLOW (1UL << 2)
#endif
#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif

namespace hanok::isolate {

namespace {

// The largest number of arguments a system call takes; OCI "index" must be below it.
constexpr unsigned kMaxSyscallArgs = 6;
// The kernel refuses longer classic BPF programs (BPF_MAXINSNS).
constexpr size_t kMaxInstructions = 4096;

struct ActionName {
  std::string_view name;
  SeccompAction action;
};

constexpr std::array kActions{
    ActionName{"SCMP_ACT_KILL", SeccompAction::KillThread},
    ActionName{"SCMP_ACT_KILL_PROCESS", SeccompAction::KillProcess},
    ActionName{"SCMP_ACT_KILL_THREAD", SeccompAction::KillThread},
    ActionName{"SCMP_ACT_TRAP", SeccompAction::Trap},
    ActionName{"SCMP_ACT_ERRNO", SeccompAction::Errno},
    ActionName{"SCMP_ACT_TRACE", SeccompAction::Trace},
    ActionName{"SCMP_ACT_ALLOW", SeccompAction::Allow},
    ActionName{"SCMP_ACT_LOG", SeccompAction::Log},
    ActionName{"SCMP_ACT_NOTIFY", SeccompAction::Notify},
};

struct OperatorName {
  std::string_view name;
  SeccompOperator op;
  scmp_compare scmp;
};

constexpr std::array kOperators{
    OperatorName{"SCMP_CMP_NE", SeccompOperator::NotEqual, SCMP_CMP_NE},
    OperatorName{"SCMP_CMP_LT", SeccompOperator::LessThan, SCMP_CMP_LT},
    OperatorName{"SCMP_CMP_LE", SeccompOperator::LessEqual, SCMP_CMP_LE},
    OperatorName{"SCMP_CMP_EQ", SeccompOperator::EqualTo, SCMP_CMP_EQ},
    OperatorName{"SCMP_CMP_GE", SeccompOperator::GreaterEqual, SCMP_CMP_GE},
    OperatorName{"SCMP_CMP_GT", SeccompOperator::GreaterThan, SCMP_CMP_GT},
    OperatorName{"SCMP_CMP_MASKED_EQ", SeccompOperator::MaskedEqual, SCMP_CMP_MASKED_EQ},
};

struct ArchName {
  std::string_view name;
  uint32_t token;
};

constexpr std::array kArchs{
    ArchName{"SCMP_ARCH_X86", SCMP_ARCH_X86},
    ArchName{"SCMP_ARCH_X86_64", SCMP_ARCH_X86_64},
    ArchName{"SCMP_ARCH_X32", SCMP_ARCH_X32},
    ArchName{"SCMP_ARCH_ARM", SCMP_ARCH_ARM},
    ArchName{"SCMP_ARCH_AARCH64", SCMP_ARCH_AARCH64},
    ArchName{"SCMP_ARCH_MIPS", SCMP_ARCH_MIPS},
    ArchName{"SCMP_ARCH_MIPS64", SCMP_ARCH_MIPS64},
    ArchName{"SCMP_ARCH_MIPS64N32", SCMP_ARCH_MIPS64N32},
    ArchName{"SCMP_ARCH_MIPSEL", SCMP_ARCH_MIPSEL},
    ArchName{"SCMP_ARCH_MIPSEL64", SCMP_ARCH_MIPSEL64},
    ArchName{"SCMP_ARCH_MIPSEL64N32", SCMP_ARCH_MIPSEL64N32},
    ArchName{"SCMP_ARCH_PPC", SCMP_ARCH_PPC},
    ArchName{"SCMP_ARCH_PPC64", SCMP_ARCH_PPC64},
    ArchName{"SCMP_ARCH_PPC64LE", SCMP_ARCH_PPC64LE},
    ArchName{"SCMP_ARCH_S390", SCMP_ARCH_S390},
    ArchName{"SCMP_ARCH_S390X", SCMP_ARCH_S390X},
    ArchName{"SCMP_ARCH_PARISC", SCMP_ARCH_PARISC},
    ArchName{"SCMP_ARCH_PARISC64", SCMP_ARCH_PARISC64},
    ArchName{"SCMP_ARCH_RISCV64", SCMP_ARCH_RISCV64},
};

struct FlagName {
  std::string_view name;
  unsigned int flag;
};

constexpr std::array kFlags{
    FlagName{"SECCOMP_FILTER_FLAG_TSYNC", static_cast<unsigned int>(SECCOMP_FILTER_FLAG_TSYNC)},
    FlagName{"SECCOMP_FILTER_FLAG_LOG", static_cast<unsigned int>(SECCOMP_FILTER_FLAG_LOG)},
    FlagName{"SECCOMP_FILTER_FLAG_SPEC_ALLOW",
             static_cast<unsigned int>(SECCOMP_FILTER_FLAG_SPEC_ALLOW)},
    FlagName{"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
             static_cast<unsigned int>(SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV)},
};

template <typename Table>
std::vector<std::string> names_of(const Table& table) {
  std::vector<std::string> out;
  out.reserve(table.size());
  for (const auto& entry : table) out.emplace_back(entry.name);
  return out;
}

// Owns a libseccomp filter context.
class FilterContext {
 public:
  explicit FilterContext(uint32_t default_action) : ctx_(seccomp_init(default_action)) {}
  ~FilterContext() {
    if (ctx_ != nullptr) seccomp_release(ctx_);
  }
  FilterContext(const FilterContext&) = delete;
  FilterContext& operator=(const FilterContext&) = delete;

  scmp_filter_ctx get() const { return ctx_; }
  explicit operator bool() const { return ctx_ != nullptr; }

 private:
  scmp_filter_ctx ctx_;
};

[[noreturn]] void fail(std::string_view context, std::string_view call, int err) {
  std::string msg = "seccomp: ";
  msg += context;
  msg += ": ";
  msg += call;
  msg += ": ";
  msg += errno_text(err);
  throw std::runtime_error(msg);
}

std::string rule_context(size_t index, std::string_view name) {
  std::string out = "syscalls[" + std::to_string(index) + "]";
  if (!name.empty()) {
    out += " (\"";
    out += name;
    out += "\")";
  }
  return out;
}

// The libseccomp action value; SCMP_ACT_ERRNO and SCMP_ACT_TRACE default to EPERM as in runc.
uint32_t scmp_action(SeccompAction action, std::optional<uint32_t> errno_ret) {
  const uint32_t ret = errno_ret.value_or(EPERM);
  switch (action) {
    case SeccompAction::KillThread:
      return SCMP_ACT_KILL_THREAD;
    case SeccompAction::KillProcess:
      return SCMP_ACT_KILL_PROCESS;
    case SeccompAction::Trap:
      return SCMP_ACT_TRAP;
    case SeccompAction::Errno:
      return SCMP_ACT_ERRNO(ret);
    case SeccompAction::Trace:
      return SCMP_ACT_TRACE(ret);
    case SeccompAction::Allow:
      return SCMP_ACT_ALLOW;
    case SeccompAction::Log:
      return SCMP_ACT_LOG;
    case SeccompAction::Notify:
      return SCMP_ACT_NOTIFY;
  }
  throw std::runtime_error("seccomp: unknown action " + std::to_string(static_cast<int>(action)));
}

scmp_compare scmp_operator(SeccompOperator op) {
  for (const auto& entry : kOperators) {
    if (entry.op == op) return entry.scmp;
  }
  throw std::runtime_error("seccomp: unknown operator " + std::to_string(static_cast<int>(op)));
}

void add_rule(const FilterContext& ctx, const std::string& context, int nr, uint32_t action,
              const std::vector<scmp_arg_cmp>& conds) {
  const int rc = seccomp_rule_add_array(ctx.get(), action, nr, static_cast<unsigned>(conds.size()),
                                        conds.empty() ? nullptr : conds.data());
  if (rc < 0) fail(context, "seccomp_rule_add", -rc);
}

std::vector<sock_filter> export_bpf(const FilterContext& ctx) {
  UniqueFd fd(::memfd_create("hanok-seccomp", MFD_CLOEXEC));
  if (fd.get() < 0) fail("export", "memfd_create", errno);
  const int rc = seccomp_export_bpf(ctx.get(), fd.get());
  if (rc < 0) fail("export", "seccomp_export_bpf", -rc);

  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) fail("export", "fstat", errno);
  const auto size = static_cast<size_t>(st.st_size);
  if (size == 0 || size % sizeof(sock_filter) != 0) {
    throw std::runtime_error("seccomp: export: seccomp_export_bpf wrote " + std::to_string(size) +
                             " bytes, not a whole number of BPF instructions");
  }

  std::vector<sock_filter> program(size / sizeof(sock_filter));
  auto* out = reinterpret_cast<char*>(program.data());
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::pread(fd.get(), out + done, size - done, static_cast<off_t>(done));
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("export", "read", errno);
    }
    if (n == 0) fail("export", "read", EIO);
    done += static_cast<size_t>(n);
  }
  return program;
}

// runc's ENOSYS stub: a system call newer than every one the profile names (for the calling
// architecture) gets ENOSYS instead of the default action, so that the C library falls back to
// an older call (clone3 -> clone, openat2 -> openat, close_range -> close) rather than failing
// with the default errno. Skipped when the default already allows or is ENOSYS itself. `max_nr`
// holds, per audit architecture, the highest syscall number the profile names.
std::vector<sock_filter> enosys_stub(const std::vector<std::pair<uint32_t, int>>& max_nr) {
  constexpr uint32_t kX32Bit = 0x40000000;
  std::vector<sock_filter> stub;
  std::vector<size_t> to_program_true;  // jt of these goes to the profile's own program
  std::vector<size_t> to_program_false;
  std::vector<size_t> to_enosys_true;
  std::vector<size_t> to_next_false;  // jf of these goes to the next architecture's block
  for (const auto& [arch, max] : max_nr) {
    size_t block = stub.size();
    for (size_t at : to_next_false) stub[at].jf = static_cast<uint8_t>(block - at - 1);
    to_next_false.clear();
    stub.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)));
    to_next_false.push_back(stub.size());
    stub.push_back(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, arch, 0, 0));
    stub.push_back(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)));
    if (arch == AUDIT_ARCH_X86_64) {  // x32 calls carry bit 30: left to the profile
      to_program_true.push_back(stub.size());
      stub.push_back(BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, kX32Bit, 0, 0));
    }
    to_enosys_true.push_back(stub.size());
    to_program_false.push_back(stub.size());
    stub.push_back(BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, static_cast<uint32_t>(max), 0, 0));
  }
  // Another architecture: on to the profile.
  size_t skip = stub.size();
  for (size_t at : to_next_false) stub[at].jf = static_cast<uint8_t>(skip - at - 1);
  stub.push_back(BPF_STMT(BPF_JMP | BPF_JA, 1));
  size_t enosys = stub.size();
  stub.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)));
  size_t program = stub.size();
  for (size_t at : to_enosys_true) stub[at].jt = static_cast<uint8_t>(enosys - at - 1);
  for (size_t at : to_program_true) stub[at].jt = static_cast<uint8_t>(program - at - 1);
  for (size_t at : to_program_false) stub[at].jf = static_cast<uint8_t>(program - at - 1);
  return stub;
}

// runc's rule: no stub when the default allows, or names ENOSYS itself.
bool needs_enosys_stub(const SeccompProfile& profile) {
  if (profile.default_errno_ret == static_cast<uint32_t>(ENOSYS)) return false;
  switch (profile.default_action) {
    case SeccompAction::Allow:
    case SeccompAction::Log:
    case SeccompAction::Trace:
      return false;
    default:
      return true;
  }
}

}  // namespace

std::optional<SeccompAction> seccomp_action_from_name(std::string_view name) {
  for (const auto& entry : kActions) {
    if (entry.name == name) return entry.action;
  }
  return std::nullopt;
}

std::optional<SeccompOperator> seccomp_operator_from_name(std::string_view name) {
  for (const auto& entry : kOperators) {
    if (entry.name == name) return entry.op;
  }
  return std::nullopt;
}

bool seccomp_arch_known(std::string_view name) {
  for (const auto& entry : kArchs) {
    if (entry.name == name) return true;
  }
  return false;
}

bool seccomp_flag_known(std::string_view name) {
  for (const auto& entry : kFlags) {
    if (entry.name == name) return true;
  }
  return false;
}

std::vector<std::string> seccomp_action_names() {
  return names_of(kActions);
}
std::vector<std::string> seccomp_operator_names() {
  return names_of(kOperators);
}
std::vector<std::string> seccomp_arch_names() {
  return names_of(kArchs);
}
std::vector<std::string> seccomp_flag_names() {
  return names_of(kFlags);
}

SeccompProgram compile_seccomp(const SeccompProfile& profile) {
  SeccompProgram program;

  for (const auto& flag : profile.flags) {
    bool found = false;
    for (const auto& entry : kFlags) {
      if (entry.name == flag) {
        program.filter_flags |= entry.flag;
        found = true;
        break;
      }
    }
    if (!found) throw std::runtime_error("seccomp: unknown flag \"" + flag + "\"");
  }

  if (profile.default_action == SeccompAction::Notify) {
    throw std::runtime_error("seccomp: SCMP_ACT_NOTIFY cannot be the default action");
  }
  const uint32_t default_action = scmp_action(profile.default_action, profile.default_errno_ret);
  FilterContext ctx(default_action);
  if (!ctx) throw std::runtime_error("seccomp: seccomp_init failed (bad default action?)");

  std::vector<uint32_t> filtered_archs = {seccomp_arch_native()};
  for (const auto& arch : profile.architectures) {
    const ArchName* found = nullptr;
    for (const auto& entry : kArchs) {
      if (entry.name == arch) found = &entry;
    }
    if (found == nullptr)
      throw std::runtime_error("seccomp: unknown architecture \"" + arch + "\"");
    const int rc = seccomp_arch_add(ctx.get(), found->token);
    // -EEXIST: already present (the native one); other failures: libseccomp cannot filter for
    // it, so it is left out and its system calls meet the bad-architecture action.
    if (rc == 0 && found->token != SCMP_ARCH_X32) filtered_archs.push_back(found->token);
  }

  // We set no_new_privs ourselves, and the init process is single-threaded.
  if (int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_NNP, 0); rc < 0) {
    fail("attributes", "seccomp_attr_set(CTL_NNP)", -rc);
  }
  if (int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_TSYNC, 0); rc < 0) {
    fail("attributes", "seccomp_attr_set(CTL_TSYNC)", -rc);
  }

  for (size_t i = 0; i < profile.syscalls.size(); ++i) {
    const SeccompRule& rule = profile.syscalls[i];
    const uint32_t action = scmp_action(rule.action, rule.errno_ret);
    // libseccomp refuses a rule whose action is the default one; it would change nothing.
    if (action == default_action) continue;

    std::vector<scmp_arg_cmp> conds;
    conds.reserve(rule.args.size());
    std::array<unsigned, kMaxSyscallArgs> per_index{};
    bool repeated_index = false;
    for (size_t a = 0; a < rule.args.size(); ++a) {
      const SeccompArg& arg = rule.args[a];
      if (arg.index >= kMaxSyscallArgs) {
        throw std::runtime_error("seccomp: " + rule_context(i, {}) + ": args[" + std::to_string(a) +
                                 "]: index " + std::to_string(arg.index) +
                                 " is out of range (0-5)");
      }
      if (++per_index[arg.index] > 1) repeated_index = true;
      conds.push_back(scmp_arg_cmp{arg.index, scmp_operator(arg.op), arg.value, arg.value_two});
    }

    for (const auto& name : rule.names) {
      const int nr = seccomp_syscall_resolve_name(name.c_str());
      if (nr == __NR_SCMP_ERROR) continue;  // Unknown to libseccomp: skipped, as runc does.
      const std::string context = rule_context(i, name);
      if (repeated_index) {
        // libseccomp ANDs every condition of a rule, so two conditions on one argument could
        // never both hold; OCI profiles mean them as alternatives: one rule per condition.
        for (const auto& cond : conds) add_rule(ctx, context, nr, action, {cond});
      } else {
        add_rule(ctx, context, nr, action, conds);
      }
    }
  }

  program.instructions = export_bpf(ctx);
  if (needs_enosys_stub(profile)) {
    std::vector<std::pair<uint32_t, int>> max_nr;
    for (uint32_t arch : filtered_archs) {
      int max = -1;
      for (const auto& rule : profile.syscalls) {
        for (const auto& name : rule.names) {
          max = std::max(max, seccomp_syscall_resolve_name_arch(arch, name.c_str()));
        }
      }
      if (max >= 0) max_nr.emplace_back(arch, max);
    }
    if (!max_nr.empty()) {
      std::vector<sock_filter> stub = enosys_stub(max_nr);
      program.instructions.insert(program.instructions.begin(), stub.begin(), stub.end());
    }
  }
  if (program.instructions.size() > kMaxInstructions) {
    throw std::runtime_error(
        "seccomp: the filter has " + std::to_string(program.instructions.size()) +
        " instructions, more than the kernel's limit of " + std::to_string(kMaxInstructions));
  }
  return program;
}

int load_seccomp(const SeccompProgram& program) noexcept {
  if (program.instructions.empty() || program.instructions.size() > kMaxInstructions) {
    return -EINVAL;
  }
  sock_fprog prog{};
  prog.len = static_cast<unsigned short>(program.instructions.size());
  prog.filter = const_cast<sock_filter*>(program.instructions.data());
  if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, program.filter_flags, &prog) != 0) {
    return -errno;
  }
  return 0;
}

}  // namespace hanok::isolate
