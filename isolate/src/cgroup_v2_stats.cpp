// cgroup v2 statistics: cpu.stat, memory.*, pids.*, hugetlb.*, io.stat. A file the kernel
// does not have (a controller not enabled, an older kernel) is skipped.
#include <dirent.h>

#include <cstdint>
#include <cstdio>
#include <sstream>

#include "cgroup_v2.hpp"

namespace hanok::isolate::cgroup::v2 {

namespace {

std::map<std::string, uint64_t> keyed(const std::string& dir, const std::string& name) {
  auto text = read_optional(dir, name);
  return text ? parse_flat_keyed(*text) : std::map<std::string, uint64_t>{};
}

uint64_t value_of(const std::map<std::string, uint64_t>& values, const std::string& key) {
  auto it = values.find(key);
  return it == values.end() ? 0 : it->second;
}

// A single-value file: its number; `max_value` for "max"; 0 when missing or unreadable.
uint64_t single(const std::string& dir, const std::string& name, uint64_t max_value = 0) {
  auto text = read_optional(dir, name);
  if (!text) return 0;
  if (auto value = parse_single(*text)) return *value;
  return text->rfind("max", 0) == 0 ? max_value : 0;
}

void read_cpu(const std::string& dir, Stats::Cpu& cpu) {
  auto values = keyed(dir, "cpu.stat");
  cpu.usage_total_ns = value_of(values, "usage_usec") * 1000;
  cpu.usage_user_ns = value_of(values, "user_usec") * 1000;
  cpu.usage_kernel_ns = value_of(values, "system_usec") * 1000;
  cpu.throttling_periods = value_of(values, "nr_periods");
  cpu.throttled_periods = value_of(values, "nr_throttled");
  cpu.throttled_time_ns = value_of(values, "throttled_usec") * 1000;
}

void read_memory(const std::string& dir, Stats::Memory& memory) {
  // An unlimited memory.max / memory.swap.max reads as UINT64_MAX, as runc reports it.
  memory.usage = single(dir, "memory.current");
  memory.max_usage = single(dir, "memory.peak");
  memory.limit = single(dir, "memory.max", UINT64_MAX);
  memory.swap_usage = single(dir, "memory.swap.current");
  memory.swap_limit = single(dir, "memory.swap.max", UINT64_MAX);
  memory.raw = keyed(dir, "memory.stat");
  memory.cache = value_of(memory.raw, "file");
  memory.failcnt = value_of(keyed(dir, "memory.events"), "max");
}

// The page sizes this cgroup has hugetlb files for ("2MB", "1GB").
std::vector<std::string> hugepage_sizes(const std::string& dir) {
  std::vector<std::string> sizes;
  DIR* stream = ::opendir(dir.c_str());
  if (stream == nullptr) return sizes;
  const std::string prefix = "hugetlb.", suffix = ".current";
  while (dirent* entry = ::readdir(stream)) {
    std::string name = entry->d_name;
    if (name.size() > prefix.size() + suffix.size() && name.rfind(prefix, 0) == 0 &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0 &&
        name.find(".rsvd.") == std::string::npos)
      sizes.push_back(name.substr(prefix.size(), name.size() - prefix.size() - suffix.size()));
  }
  ::closedir(stream);
  return sizes;
}

void read_hugetlb(const std::string& dir, std::map<std::string, Stats::Hugetlb>& hugetlb) {
  for (const std::string& size : hugepage_sizes(dir)) {
    Stats::Hugetlb& entry = hugetlb[size];
    entry.usage = single(dir, "hugetlb." + size + ".current");
    entry.max_usage = 0;  // v2 keeps no peak
    entry.failcnt = value_of(keyed(dir, "hugetlb." + size + ".events"), "max");
  }
}

// io.stat: "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0" per device.
void read_io(const std::string& dir, Stats& stats) {
  auto text = read_optional(dir, "io.stat");
  if (!text) return;
  std::istringstream lines(*text);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::string device;
    if (!(words >> device)) continue;
    int64_t major = 0, minor = 0;
    if (std::sscanf(device.c_str(), "%ld:%ld", &major, &minor) != 2) continue;
    for (std::string field; words >> field;) {
      size_t eq = field.find('=');
      if (eq == std::string::npos) continue;
      auto value = parse_single(std::string_view(field).substr(eq + 1));
      if (!value) continue;
      std::string key = field.substr(0, eq);
      if (key == "rbytes") stats.io_service_bytes.push_back({major, minor, "Read", *value});
      if (key == "wbytes") stats.io_service_bytes.push_back({major, minor, "Write", *value});
      if (key == "rios") stats.io_serviced.push_back({major, minor, "Read", *value});
      if (key == "wios") stats.io_serviced.push_back({major, minor, "Write", *value});
    }
  }
}

}  // namespace

Stats CgroupV2::stats() const {
  Stats stats;
  read_cpu(dir_, stats.cpu);
  read_memory(dir_, stats.memory);
  stats.pids.current = single(dir_, "pids.current");
  stats.pids.limit = single(dir_, "pids.max");  // "max": 0, unlimited
  read_hugetlb(dir_, stats.hugetlb);
  read_io(dir_, stats);
  stats.oom_kills = oom_kill_count();
  return stats;
}

uint64_t CgroupV2::oom_kill_count() const {
  return value_of(keyed(dir_, "memory.events"), "oom_kill");
}

}  // namespace hanok::isolate::cgroup::v2
