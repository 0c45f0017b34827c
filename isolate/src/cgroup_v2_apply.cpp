// cgroup v2: Resources -> the controller files (cpu.*, cpuset.*, memory.*, pids.max, io.*,
// hugetlb.*), the device program, and linux.resources.unified. Everything that can be
// checked is checked before the first write.
#include <fcntl.h>
#include <sys/stat.h>

#include <cctype>
#include <set>
#include <stdexcept>

#include "cgroup_v2.hpp"
#include "cgroup_v2_devices.hpp"
#include "isolate/error.hpp"
#include "isolate/log.hpp"
#include "isolate/text.hpp"

namespace hanok::isolate::cgroup::v2 {

namespace {

// -1 (any negative) is "max".
std::string limit_text(int64_t value) {
  return value < 0 ? "max" : std::to_string(value);
}

std::string first_word(const std::string& text) {
  auto words = split(text, " \t\n");
  return words.empty() ? std::string() : std::string(words.front());
}

void check_realtime(const Resources::Cpu& cpu) {
  if (cpu.realtime_runtime.value_or(0) != 0)
    throw std::invalid_argument("linux.resources.cpu.realtimeRuntime: not supported on cgroup v2");
  if (cpu.realtime_period.value_or(0) != 0)
    throw std::invalid_argument("linux.resources.cpu.realtimePeriod: not supported on cgroup v2");
}

// A unified key must name an existing plain file of this cgroup, and not one that changes
// membership or the tree.
void check_unified(const std::string& dir, const std::map<std::string, std::string>& unified) {
  static const std::set<std::string> kRefused = {"cgroup.procs", "cgroup.threads",
                                                 "cgroup.subtree_control", "cgroup.kill"};
  for (const auto& [name, value] : unified) {
    std::string where = "linux.resources.unified[\"" + name + "\"]";
    if (name.empty() || name.find('/') != std::string::npos || name == "." ||
        name.find("..") != std::string::npos)
      throw std::invalid_argument(where + ": not a cgroup file name");
    if (kRefused.count(name) != 0)
      throw std::invalid_argument(where + ": may not be set through unified");
    struct stat st {};
    std::string file = join_path(dir, name);
    if (::lstat(file.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      where += ": no such cgroup file in ";
      where += dir;
      where += " (unknown, or its controller is not enabled)";
      throw std::invalid_argument(where);
    }
  }
}

void check_hugepages(const std::vector<HugepageLimit>& limits) {
  for (size_t i = 0; i < limits.size(); ++i) {
    const std::string& size = limits[i].page_size;
    bool ok = !size.empty();
    for (char c : size) ok = ok && std::isalnum(static_cast<unsigned char>(c));
    if (!ok) {
      throw std::invalid_argument("linux.resources.hugepageLimits[" + std::to_string(i) +
                                  "].pageSize: invalid \"" + size + "\"");
    }
  }
}

// memory.swap.max's value, or nullopt to leave it alone. OCI swap is memory+swap.
std::optional<std::string> swap_value(const std::string& dir, const Resources::Memory& memory) {
  if (!memory.swap) return std::nullopt;
  int64_t limit = memory.limit.value_or(0);
  if (limit == 0) {  // no new limit: the one in force
    auto current = read_optional(dir, "memory.max");
    if (current && first_word(*current) == "max") {
      limit = -1;
    } else if (current) {
      limit = static_cast<int64_t>(parse_single(*current).value_or(0));
    }
  }
  if (*memory.swap == 0 && limit != -1) return std::nullopt;  // 0: unset, as runc reads it
  return limit_text(memory_swap_to_v2(*memory.swap, limit));
}

void apply_cpu(const std::string& dir, const Resources::Cpu& cpu) {
  if (cpu.shares.value_or(0) != 0)
    write_file(dir, "cpu.weight", std::to_string(cpu_shares_to_weight(*cpu.shares)));

  std::optional<std::string> max;
  std::string quota;
  if (cpu.quota.value_or(0) != 0) quota = limit_text(*cpu.quota);
  uint64_t period = cpu.period.value_or(0);
  if (!quota.empty() || period != 0) {
    if (quota.empty()) {  // only a new period: keep the quota in force
      quota = first_word(read_optional(dir, "cpu.max").value_or(""));
      if (quota.empty()) quota = "max";
    }
    max = period != 0 ? quota + " " + std::to_string(period) : quota;
  }
  // The kernel refuses a burst above the quota: when lowering both, the burst goes first;
  // when raising both, the quota must: try the burst first and retry it after cpu.max.
  bool burst_pending = false;
  if (cpu.burst) {
    try {
      write_file(dir, "cpu.max.burst", std::to_string(*cpu.burst));
    } catch (const SysError& e) {
      if (e.error_code() != EINVAL || !max) throw;
      burst_pending = true;
    }
  }
  if (max) write_file(dir, "cpu.max", *max);
  if (burst_pending) write_file(dir, "cpu.max.burst", std::to_string(*cpu.burst));
  if (cpu.idle) write_file(dir, "cpu.idle", std::to_string(*cpu.idle));

  if (!cpu.cpus.empty()) write_file(dir, "cpuset.cpus", cpu.cpus);
  if (!cpu.mems.empty()) write_file(dir, "cpuset.mems", cpu.mems);
}

void apply_memory(const std::string& dir, const Resources::Memory& memory,
                  const std::optional<std::string>& swap) {
  // kernel, kernel_tcp, swappiness, disable_oom_killer, use_hierarchy: v1 only, ignored.
  int64_t limit = memory.limit.value_or(0);
  if (limit > 0 && memory.check_before_update.value_or(false)) {
    auto usage = parse_single(read_optional(dir, "memory.current").value_or(""));
    if (usage && *usage >= static_cast<uint64_t>(limit)) {
      throw std::runtime_error("linux.resources.memory.limit: " + std::to_string(limit) +
                               " is not above the current usage " + std::to_string(*usage));
    }
  }
  if (swap) {
    try {
      write_file(dir, "memory.swap.max", *swap);
    } catch (const SysError& e) {
      // No swap accounting in this kernel: "no swap" and "unlimited swap" need no file.
      if (e.error_code() != ENOENT || (*swap != "max" && *swap != "0")) throw;
      log_debug(std::string("cgroup: ") + e.what() + " (no swap accounting; ignored)");
    }
  }
  if (limit != 0) write_file(dir, "memory.max", limit_text(limit));
  if (memory.reservation.value_or(0) != 0)
    write_file(dir, "memory.low", limit_text(*memory.reservation));
}

void apply_io(const std::string& dir, const Resources::BlockIo& io) {
  // leaf_weight: v1 only, ignored.
  if (io.weight.value_or(0) != 0) {
    write_file(dir, "io.weight",
               "default " + std::to_string(blkio_weight_to_io_weight(*io.weight)));
  }
  for (const WeightDevice& device : io.weight_devices) {
    if (device.weight.value_or(0) == 0) continue;
    write_file(dir, "io.weight",
               std::to_string(device.major) + ":" + std::to_string(device.minor) + " " +
                   std::to_string(blkio_weight_to_io_weight(*device.weight)));
  }
  auto throttle = [&](const std::vector<ThrottleDevice>& devices, const char* key) {
    for (const ThrottleDevice& device : devices) {
      // v1's 0 means "no limit", which io.max spells "max".
      std::string rate = device.rate == 0 ? "max" : std::to_string(device.rate);
      write_file(dir, "io.max",
                 std::to_string(device.major) + ":" + std::to_string(device.minor) + " " + key +
                     "=" + rate);
    }
  };
  throttle(io.throttle_read_bps, "rbps");
  throttle(io.throttle_write_bps, "wbps");
  throttle(io.throttle_read_iops, "riops");
  throttle(io.throttle_write_iops, "wiops");
}

}  // namespace

void CgroupV2::apply(const Resources& resources) {
  if (resources.cpu) check_realtime(*resources.cpu);
  check_unified(dir_, resources.unified);
  check_hugepages(resources.hugepage_limits);
  std::optional<std::string> swap;
  if (resources.memory) swap = swap_value(dir_, *resources.memory);
  std::vector<bpf_insn> device_program;
  if (!resources.devices.empty()) device_program = build_device_program(resources.devices);

  if (resources.cpu) apply_cpu(dir_, *resources.cpu);
  if (resources.memory) apply_memory(dir_, *resources.memory, swap);
  if (resources.pids_limit) {
    write_file(dir_, "pids.max",
               *resources.pids_limit <= 0 ? "max" : std::to_string(*resources.pids_limit));
  }
  if (resources.block_io) apply_io(dir_, *resources.block_io);
  for (const HugepageLimit& limit : resources.hugepage_limits)
    write_file(dir_, "hugetlb." + limit.page_size + ".max", std::to_string(limit.limit));

  if (!device_program.empty()) {
    UniqueFd dir_fd(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir_fd) throw_sys("open", dir_);
    attach_device_program(dir_fd.get(), device_program, dir_);
  }

  // Last, so that it overrides what the typed fields wrote, as in runc and crun.
  for (const auto& [name, value] : resources.unified) write_file(dir_, name, value);
}

}  // namespace hanok::isolate::cgroup::v2
