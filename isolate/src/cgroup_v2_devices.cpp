// The cgroup v2 device filter: OCI device rules -> a BPF_PROG_TYPE_CGROUP_DEVICE program,
// hand-assembled, loaded and attached with raw bpf(2) calls.
#include "cgroup_v2_devices.hpp"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <stdexcept>

#include "isolate/error.hpp"
#include "isolate/unique_fd.hpp"

namespace hanok::isolate::cgroup {

namespace {

// --- a tiny assembler with forward labels -------------------------------------------------

class Assembler {
 public:
  int new_label() {
    labels_.push_back(-1);
    return static_cast<int>(labels_.size()) - 1;
  }
  void bind(int label) { labels_[label] = static_cast<long>(code_.size()); }

  // dst = *(u32*)(src + off)
  void load_word(int dst, int src, int16_t off) {
    emit(BPF_LDX | BPF_MEM | BPF_W, dst, src, off, 0);
  }
  // 32-bit ALU with an immediate: wDst op= imm (the upper half is zeroed).
  void alu32(int op, int dst, int32_t imm) { emit(BPF_ALU | op | BPF_K, dst, 0, 0, imm); }
  // 32-bit compare of wDst with imm; jumps to `label` when `op` holds.
  void jump32(int op, int dst, uint32_t imm, int label) {
    fixups_.emplace_back(code_.size(), label);
    emit(BPF_JMP32 | op | BPF_K, dst, 0, 0, static_cast<int32_t>(imm));
  }
  void jump(int label) {
    fixups_.emplace_back(code_.size(), label);
    emit(BPF_JMP | BPF_JA, 0, 0, 0, 0);
  }
  void exit_with(int32_t value) {
    alu32(BPF_MOV, BPF_REG_0, value);
    emit(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
  }

  std::vector<bpf_insn> finish() {
    for (auto [at, label] : fixups_) {
      long offset = labels_[label] - static_cast<long>(at) - 1;
      if (labels_[label] < 0 || offset < 0 || offset > SHRT_MAX)
        throw std::length_error("device program: too many device rules");
      code_[at].off = static_cast<int16_t>(offset);
    }
    return std::move(code_);
  }

 private:
  void emit(uint8_t code, int dst, int src, int16_t off, int32_t imm) {
    bpf_insn insn{};
    insn.code = code;
    insn.dst_reg = static_cast<uint8_t>(dst) & 0xf;
    insn.src_reg = static_cast<uint8_t>(src) & 0xf;
    insn.off = off;
    insn.imm = imm;
    code_.push_back(insn);
  }

  std::vector<bpf_insn> code_;
  std::vector<long> labels_;
  std::vector<std::pair<size_t, int>> fixups_;
};

// A checked rule, in BPF terms.
struct Rule {
  bool allow;
  uint32_t type;    // BPF_DEVCG_DEV_*; 0 for 'a'
  uint32_t access;  // BPF_DEVCG_ACC_* bits
  int64_t major;    // -1: any
  int64_t minor;
};

Rule check_rule(const DeviceRule& rule, size_t index) {
  std::string where = "linux.resources.devices[" + std::to_string(index) + "]";
  Rule out{rule.allow, 0, 0, rule.major, rule.minor};
  switch (rule.type) {
    case 'a':
      return out;  // resets everything; major, minor and access do not matter (as in v1)
    case 'c':
      out.type = BPF_DEVCG_DEV_CHAR;
      break;
    case 'b':
      out.type = BPF_DEVCG_DEV_BLOCK;
      break;
    default:
      throw std::invalid_argument(where + ".type: invalid \"" + std::string(1, rule.type) +
                                  "\" (want a, b or c)");
  }
  if (rule.major < -1 || rule.major > static_cast<int64_t>(UINT32_MAX))
    throw std::invalid_argument(where + ".major: out of range: " + std::to_string(rule.major));
  if (rule.minor < -1 || rule.minor > static_cast<int64_t>(UINT32_MAX))
    throw std::invalid_argument(where + ".minor: out of range: " + std::to_string(rule.minor));
  for (char c : rule.access) {
    switch (c) {
      case 'r':
        out.access |= BPF_DEVCG_ACC_READ;
        break;
      case 'w':
        out.access |= BPF_DEVCG_ACC_WRITE;
        break;
      case 'm':
        out.access |= BPF_DEVCG_ACC_MKNOD;
        break;
      default:
        throw std::invalid_argument(where + ".access: invalid \"" + rule.access +
                                    "\" (want letters of rwm)");
    }
  }
  if (out.access == 0) throw std::invalid_argument(where + ".access: empty");
  return out;
}

}  // namespace

std::vector<bpf_insn> build_device_program(const std::vector<DeviceRule>& rules) {
  // Check every rule; keep those after the last 'a' rule, which sets the default.
  bool default_allow = false;
  std::vector<Rule> active;
  for (size_t i = 0; i < rules.size(); ++i) {
    Rule rule = check_rule(rules[i], i);
    if (rule.type == 0) {
      default_allow = rule.allow;
      active.clear();
    } else {
      active.push_back(rule);
    }
  }

  // Each access bit asked for gets a section that walks the rules from the last to the
  // first: the first match decides (deny: return 0; allow: on to the next section), no match
  // takes the default. All sections passed: return 1.
  //
  // r1 is the struct bpf_cgroup_dev_ctx *. Every test loads its field afresh into w6 rather
  // than keeping type, access, major and minor in registers: so no register carries what an
  // earlier test learned, the verifier's states at each label are all alike, and it prunes
  // them; with long-lived registers it walks every path to the end and a few hundred rules
  // take seconds to verify (and more hit its 1M-instruction limit).
  constexpr int16_t kAccessType = offsetof(bpf_cgroup_dev_ctx, access_type);
  constexpr int16_t kMajor = offsetof(bpf_cgroup_dev_ctx, major);
  constexpr int16_t kMinor = offsetof(bpf_cgroup_dev_ctx, minor);
  Assembler a;
  for (uint32_t bit : {BPF_DEVCG_ACC_MKNOD, BPF_DEVCG_ACC_READ, BPF_DEVCG_ACC_WRITE}) {
    int section_end = a.new_label();
    a.load_word(BPF_REG_6, BPF_REG_1, kAccessType);  // access: the high 16 bits
    a.alu32(BPF_RSH, BPF_REG_6, 16);
    a.alu32(BPF_AND, BPF_REG_6, static_cast<int32_t>(bit));
    a.jump32(BPF_JEQ, BPF_REG_6, 0, section_end);  // this bit is not asked for
    for (auto rule = active.rbegin(); rule != active.rend(); ++rule) {
      if (!(rule->access & bit)) continue;
      int next = a.new_label();
      a.load_word(BPF_REG_6, BPF_REG_1, kAccessType);  // type: the low 16 bits
      a.alu32(BPF_AND, BPF_REG_6, 0xffff);
      a.jump32(BPF_JNE, BPF_REG_6, rule->type, next);
      if (rule->major >= 0) {
        a.load_word(BPF_REG_6, BPF_REG_1, kMajor);
        a.jump32(BPF_JNE, BPF_REG_6, static_cast<uint32_t>(rule->major), next);
      }
      if (rule->minor >= 0) {
        a.load_word(BPF_REG_6, BPF_REG_1, kMinor);
        a.jump32(BPF_JNE, BPF_REG_6, static_cast<uint32_t>(rule->minor), next);
      }
      if (rule->allow) {
        a.jump(section_end);
      } else {
        a.exit_with(0);
      }
      a.bind(next);
    }
    if (!default_allow) a.exit_with(0);
    a.bind(section_end);
  }
  a.exit_with(1);
  return a.finish();
}

// --- loading and attaching ------------------------------------------------------------------

namespace {

long bpf(int command, bpf_attr& attr) {
  return ::syscall(SYS_bpf, command, &attr, sizeof attr);
}

template <typename T>
uint64_t pointer(T* p) {
  return reinterpret_cast<uintptr_t>(p);
}

UniqueFd load(const std::vector<bpf_insn>& program, const std::string& where) {
  static const char kLicense[] = "Apache";
  auto attempt = [&](char* log, uint32_t log_size) {
    bpf_attr attr{};
    attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    attr.expected_attach_type = BPF_CGROUP_DEVICE;
    attr.insns = pointer(program.data());
    attr.insn_cnt = static_cast<uint32_t>(program.size());
    attr.license = pointer(kLicense);
    std::memcpy(attr.prog_name, kDeviceProgramName, sizeof kDeviceProgramName);
    if (log != nullptr) {
      attr.log_buf = pointer(log);
      attr.log_size = log_size;
      attr.log_level = 1;
    }
    return UniqueFd(static_cast<int>(bpf(BPF_PROG_LOAD, attr)));
  };
  UniqueFd fd = attempt(nullptr, 0);
  if (!fd && errno == EPERM) {
    // Kernels before 5.11 charge BPF memory to RLIMIT_MEMLOCK.
    rlimit unlimited{RLIM_INFINITY, RLIM_INFINITY};
    if (::setrlimit(RLIMIT_MEMLOCK, &unlimited) == 0) fd = attempt(nullptr, 0);
  }
  if (fd) return fd;
  int err = errno;
  if (err == EINVAL || err == EACCES) {  // the verifier refused it: say why
    std::string log(64 * 1024, '\0');
    UniqueFd retry = attempt(log.data(), static_cast<uint32_t>(log.size()));
    if (retry) return retry;
    log.resize(std::strlen(log.c_str()));
    if (log.size() > 2000) log = "..." + log.substr(log.size() - 2000);
    throw SysError("load device program (" + std::to_string(program.size()) + " instructions) for",
                   where + ": verifier: " + log, err);
  }
  throw_sys("load device program for", where, err);
}

std::vector<uint32_t> attached(int dir_fd, const std::string& where) {
  std::vector<uint32_t> ids(16);
  for (;;) {
    bpf_attr attr{};
    attr.query.target_fd = static_cast<uint32_t>(dir_fd);
    attr.query.attach_type = BPF_CGROUP_DEVICE;
    attr.query.prog_ids = pointer(ids.data());
    attr.query.prog_cnt = static_cast<uint32_t>(ids.size());
    if (bpf(BPF_PROG_QUERY, attr) == 0) {
      ids.resize(attr.query.prog_cnt);
      return ids;
    }
    if (errno != ENOSPC) throw_sys("query device programs of", where);
    ids.resize(attr.query.prog_cnt + 16);
  }
}

// An fd of program `id` when it is one of ours, else an invalid fd.
UniqueFd ours(uint32_t id) {
  bpf_attr attr{};
  attr.prog_id = id;
  UniqueFd fd(static_cast<int>(bpf(BPF_PROG_GET_FD_BY_ID, attr)));
  if (!fd) return fd;  // gone meanwhile
  bpf_prog_info info{};
  bpf_attr info_attr{};
  info_attr.info.bpf_fd = static_cast<uint32_t>(fd.get());
  info_attr.info.info_len = sizeof info;
  info_attr.info.info = pointer(&info);
  if (bpf(BPF_OBJ_GET_INFO_BY_FD, info_attr) != 0 ||
      std::strncmp(info.name, kDeviceProgramName, sizeof info.name) != 0)
    fd.reset();
  return fd;
}

}  // namespace

void attach_device_program(int dir_fd, const std::vector<bpf_insn>& program,
                           const std::string& where) {
  UniqueFd prog = load(program, where);
  std::vector<uint32_t> before = attached(dir_fd, where);

  bpf_attr attr{};
  attr.target_fd = static_cast<uint32_t>(dir_fd);
  attr.attach_bpf_fd = static_cast<uint32_t>(prog.get());
  attr.attach_type = BPF_CGROUP_DEVICE;
  attr.attach_flags = BPF_F_ALLOW_MULTI;
  if (bpf(BPF_PROG_ATTACH, attr) != 0) throw_sys("attach device program to", where);

  // Only now drop the old program: there is no moment without a filter.
  for (uint32_t id : before) {
    UniqueFd old = ours(id);
    if (!old) continue;
    bpf_attr detach{};
    detach.target_fd = static_cast<uint32_t>(dir_fd);
    detach.attach_bpf_fd = static_cast<uint32_t>(old.get());
    detach.attach_type = BPF_CGROUP_DEVICE;
    if (bpf(BPF_PROG_DETACH, detach) != 0 && errno != ENOENT)
      throw_sys("detach the previous device program (id " + std::to_string(id) + ") from", where);
  }
}

}  // namespace hanok::isolate::cgroup
