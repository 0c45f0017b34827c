// cgroup v1: one directory per mounted controller hierarchy (co-mounted controllers such as
// "cpu,cpuacct" share one), plus the cgroup2 "unified" hierarchy on hybrid hosts.
#include "cgroup_v1.hpp"
#include "cgroup_v1_devices.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <exception>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <vector>

#include "isolate/error.hpp"
#include "isolate/files.hpp"
#include "isolate/log.hpp"
#include "isolate/mountinfo.hpp"
#include "isolate/text.hpp"
#include "isolate/unique_fd.hpp"

namespace hanok::isolate::cgroup {

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kDefaultRoot = "/sys/fs/cgroup";
constexpr std::string_view kPreferredUnified = "/sys/fs/cgroup/unified";

// The v1 hierarchies a cgroup is created in and joined: the controllers, and systemd's named
// hierarchy (as runc does; systemd inside a container needs its own cgroup there).
constexpr std::string_view kControllers[] = {
    "cpu",  "cpuacct", "cpuset",  "memory",   "devices",    "freezer", "blkio",
    "pids", "hugetlb", "net_cls", "net_prio", "perf_event", "rdma",    "name=systemd"};

bool is_controller(std::string_view name) {
  return std::find(std::begin(kControllers), std::end(kControllers), name) !=
         std::end(kControllers);
}

// ---------------------------------------------------------------------------------------------
// Text and files

std::optional<uint64_t> read_u64(const std::string& dir, std::string_view name) {
  std::optional<std::string> text = read_file_if_exists(join_path(dir, name));
  if (!text) return std::nullopt;
  return parse_u64(*text);
}

// "key value" lines (memory.stat, cpu.stat, memory.oom_control).
std::map<std::string, uint64_t> read_key_values(const std::string& file) {
  std::map<std::string, uint64_t> values;
  std::optional<std::string> text = read_file_if_exists(file);
  if (!text) return values;
  for (std::string_view line : split(*text, "\n")) {
    std::vector<std::string_view> fields = split(line, " \t");
    if (fields.size() != 2) continue;
    if (auto value = parse_u64(fields[1])) values[std::string(fields[0])] = *value;
  }
  return values;
}

std::vector<std::string> list_dir(const std::string& dir, bool directories) {
  std::vector<std::string> names;
  DIR* stream = ::opendir(dir.c_str());
  if (stream == nullptr) {
    if (errno == ENOENT) return names;
    throw_sys("opendir", dir);
  }
  while (dirent* entry = ::readdir(stream)) {
    std::string_view name = entry->d_name;
    if (name == "." || name == "..") continue;
    bool is_dir = entry->d_type == DT_DIR;
    if (entry->d_type == DT_UNKNOWN || entry->d_type == DT_LNK) {
      struct stat st {};
      is_dir = ::stat(join_path(dir, name).c_str(), &st) == 0 && S_ISDIR(st.st_mode);
    }
    if (is_dir == directories) names.emplace_back(name);
  }
  ::closedir(stream);
  std::sort(names.begin(), names.end());
  return names;
}

bool file_exists(const std::string& path) {
  return ::access(path.c_str(), F_OK) == 0;
}

// cgroup.procs of `dir` and of every cgroup below it.
void collect_pids(const std::string& dir, std::set<pid_t>& pids) {
  std::optional<std::string> text = read_file_if_exists(join_path(dir, "cgroup.procs"));
  if (!text) return;
  for (std::string_view line : split(*text, "\n")) {
    if (auto pid = parse_u64(line)) pids.insert(static_cast<pid_t>(*pid));
  }
  for (const std::string& child : list_dir(dir, true)) collect_pids(join_path(dir, child), pids);
}

// rmdir `dir`, its child cgroups first; EBUSY (tasks still exiting) is retried until `deadline`.
void remove_cgroup_dir(const std::string& dir, Clock::time_point deadline) {
  for (const std::string& child : list_dir(dir, true))
    remove_cgroup_dir(join_path(dir, child), deadline);
  for (;;) {
    if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return;
    if (errno != EBUSY || Clock::now() >= deadline) throw_sys("rmdir", dir);
    std::this_thread::sleep_for(10ms);
  }
}

// ---------------------------------------------------------------------------------------------
// Hierarchies

struct Hierarchies {
  std::map<std::string, std::string, std::less<>> mounts;  // controller -> hierarchy root
  std::string unified;                                     // cgroup2 root, "" when none
};

bool under_default_root(const std::string& mount_point) {
  return mount_point.starts_with(std::string(kDefaultRoot) + "/");
}

// The v1 mounts of /proc/self/mountinfo; when a hierarchy is mounted twice, the mount below
// /sys/fs/cgroup wins.
Hierarchies hierarchies_from_mountinfo() {
  Hierarchies found;
  for (const auto& mount : read_mountinfo()) {
    const std::string& mount_point = mount.mount_point;
    const std::string& fstype = mount.fstype;
    const std::string& super_options = mount.super_options;
    if (fstype == "cgroup2") {
      if (found.unified.empty() || mount_point == kPreferredUnified) found.unified = mount_point;
      continue;
    }
    if (fstype != "cgroup") continue;
    for (std::string_view option : split(super_options, ",")) {
      if (!is_controller(option)) continue;
      auto [it, inserted] = found.mounts.emplace(std::string(option), mount_point);
      if (!inserted && !under_default_root(it->second) && under_default_root(mount_point)) {
        it->second = mount_point;
      }
    }
  }
  return found;
}

// A fake tree: <root>/<controller[,controller...]> directories, <root>/unified for cgroup2.
Hierarchies hierarchies_from_tree(const std::string& root) {
  Hierarchies found;
  struct stat st {};
  if (::stat(root.c_str(), &st) != 0) throw_sys("cgroup root", root);
  for (const std::string& name : list_dir(root, true)) {
    if (name == "unified") {
      found.unified = join_path(root, name);
      continue;
    }
    for (std::string_view controller : split(name, ",")) {
      if (is_controller(controller))
        found.mounts.emplace(std::string(controller), join_path(root, name));
    }
  }
  return found;
}

// ---------------------------------------------------------------------------------------------
// Validation of what apply() is given, before anything is written

[[noreturn]] void invalid(const std::string& field, const std::string& why) {
  throw std::invalid_argument(field + ": " + why);
}

void validate(const Resources& r, Mode mode) {
  for (size_t i = 0; i < r.devices.size(); ++i) {
    const DeviceRule& d = r.devices[i];
    std::string field = "linux.resources.devices[" + std::to_string(i) + "]";
    if (d.type != 'a' && d.type != 'c' && d.type != 'b') {
      invalid(field + ".type", "\"" + std::string(1, d.type) + "\" is not a, c or b");
    }
    if (d.access.empty() || d.access.find_first_not_of("rwm") != std::string::npos) {
      invalid(field + ".access", "\"" + d.access + "\" is not a combination of r, w and m");
    }
  }
  if (r.memory) {
    const Resources::Memory& m = *r.memory;
    if (m.swappiness && *m.swappiness > 100) {
      invalid("linux.resources.memory.swappiness",
              std::to_string(*m.swappiness) + " is out of the range 0-100");
    }
    if (m.limit && m.swap && *m.limit > 0 && *m.swap > 0 && *m.swap < *m.limit) {
      invalid("linux.resources.memory.swap", std::to_string(*m.swap) +
                                                 " (memory+swap) is below the memory limit " +
                                                 std::to_string(*m.limit));
    }
  }
  for (size_t i = 0; i < r.hugepage_limits.size(); ++i) {
    const std::string& size = r.hugepage_limits[i].page_size;
    if (size.empty() || !std::all_of(size.begin(), size.end(), [](char c) {
          return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
        })) {
      invalid("linux.resources.hugepageLimits[" + std::to_string(i) + "].pageSize",
              "\"" + size + "\" is not a page size such as 2MB");
    }
  }
  if (!r.unified.empty() && mode == Mode::Legacy) {
    invalid("linux.resources.unified", "requires cgroup v2");
  }
  for (const auto& [key, value] : r.unified) {
    if (key.empty() || key == "." || key == ".." || key.find('/') != std::string::npos) {
      invalid("linux.resources.unified", "\"" + key + "\" is not a cgroup file name");
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Writing each controller's limits

// Moves the devices cgroup to what `rules` say, written in order from deny-all (as runc's
// emulator): only the difference to what devices.list shows now, so that a device allowed before
// and after is never denied in between; the whole list when the default changes. The result is
// read back, and rewritten whole if the kernel shows anything else.
void apply_devices(const std::string& dir, const std::vector<DeviceRule>& rules) {
  v1::DeviceState target = v1::device_state_of(rules);
  auto write_all = [&](const std::optional<v1::DeviceState>& current) {
    for (const auto& write : v1::device_transition(current, target)) {
      write_knob(join_path(dir, write.allow ? "devices.allow" : "devices.deny"), write.rule);
    }
  };
  std::optional<std::string> list = read_file_if_exists(join_path(dir, "devices.list"));
  std::optional<v1::DeviceState> current;
  // An allow-all cgroup lists "a *:* rwm" and not its denied exceptions: then it is unknown.
  if (list) current = v1::parse_devices_list(*list);
  if (current && current->default_allow) current.reset();
  write_all(current);
  // No devices.list to check against (a fake tree), or one that cannot show the target.
  if (!list || target.default_allow) return;
  std::optional<std::string> after = read_file_if_exists(join_path(dir, "devices.list"));
  if (after && v1::parse_devices_list(*after) != target) {
    log_warning("cgroup v1: " + dir + "/devices.list differs from the rules; rewriting it whole");
    write_all(std::nullopt);
  }
}

void write_memory_limit(const std::string& dir, int64_t limit) {
  std::string file = join_path(dir, "memory.limit_in_bytes");
  try {
    write_knob(file, std::to_string(limit));
  } catch (const SysError& e) {
    if (e.error_code() != EBUSY) throw;
    uint64_t usage = read_u64(dir, "memory.usage_in_bytes").value_or(0);
    uint64_t peak = read_u64(dir, "memory.max_usage_in_bytes").value_or(0);
    throw SysError(file + ": write " + std::to_string(limit) + " (current usage " +
                       std::to_string(usage) + ", peak " + std::to_string(peak) + ")",
                   {}, EBUSY);
  }
}

// memory.limit_in_bytes and memory.memsw.limit_in_bytes: the kernel wants limit <= memsw at
// every instant, so a limit raised above the current memsw goes after the new memsw.
void apply_memory_and_swap(const std::string& dir, const Resources::Memory& m) {
  // runc: 0 means "not set" for these.
  std::optional<int64_t> limit = m.limit && *m.limit != 0 ? m.limit : std::nullopt;
  std::optional<int64_t> swap = m.swap && *m.swap != 0 ? m.swap : std::nullopt;
  std::string memsw_file = join_path(dir, "memory.memsw.limit_in_bytes");
  bool has_memsw = file_exists(memsw_file);
  if (limit == -1 && !swap && has_memsw) swap = -1;  // unlimited memory: unlimited swap too
  if (swap && !has_memsw) {
    if (*swap == -1 || swap == limit) {
      swap.reset();  // no swap accounting, and nothing to limit
    } else {
      throw SysError(memsw_file + ": write " + std::to_string(*swap), {}, ENOENT);
    }
  }
  if (m.check_before_update.value_or(false) && limit && *limit > 0) {
    uint64_t usage = read_u64(dir, "memory.usage_in_bytes").value_or(0);
    if (usage > static_cast<uint64_t>(*limit)) {
      throw std::runtime_error("linux.resources.memory.limit: " + std::to_string(*limit) +
                               " is below the cgroup's current usage " + std::to_string(usage));
    }
  }
  if (limit && swap) {
    uint64_t new_limit = *limit < 0 ? UINT64_MAX : static_cast<uint64_t>(*limit);
    uint64_t current_memsw = read_u64(dir, "memory.memsw.limit_in_bytes").value_or(UINT64_MAX);
    if (new_limit > current_memsw) {
      write_knob(memsw_file, std::to_string(*swap));
      write_memory_limit(dir, *limit);
    } else {
      write_memory_limit(dir, *limit);
      write_knob(memsw_file, std::to_string(*swap));
    }
  } else if (limit) {
    write_memory_limit(dir, *limit);
  } else if (swap) {
    write_knob(memsw_file, std::to_string(*swap));
  }
}

void apply_memory(const std::string& dir, const Resources::Memory& m) {
  apply_memory_and_swap(dir, m);
  if (m.kernel && *m.kernel != 0) {
    log_warning("linux.resources.memory.kernel is deprecated and ignored, as runc does");
  }
  if (m.kernel_tcp && *m.kernel_tcp != 0) {
    write_knob(join_path(dir, "memory.kmem.tcp.limit_in_bytes"), std::to_string(*m.kernel_tcp));
  }
  if (m.reservation && *m.reservation != 0) {
    write_knob(join_path(dir, "memory.soft_limit_in_bytes"), std::to_string(*m.reservation));
  }
  if (m.swappiness) write_knob(join_path(dir, "memory.swappiness"), std::to_string(*m.swappiness));
  if (m.disable_oom_killer) {
    write_knob(join_path(dir, "memory.oom_control"), *m.disable_oom_killer ? "1" : "0");
  }
  if (m.use_hierarchy) {
    // Modern kernels always use the hierarchy and refuse "0": write only a change.
    std::string wanted = *m.use_hierarchy ? "1" : "0";
    std::optional<std::string> current =
        read_file_if_exists(join_path(dir, "memory.use_hierarchy"));
    if (!current || trim(*current) != wanted)
      write_knob(join_path(dir, "memory.use_hierarchy"), wanted);
  }
}

// A write that the kernel may refuse with EINVAL until a companion value is written (period vs
// quota, rt period vs rt runtime): false means "retry after the companion".
bool write_or_defer(const std::string& file, const std::string& value, bool companion_follows) {
  try {
    write_knob(file, value);
    return true;
  } catch (const SysError& e) {
    if (e.error_code() != EINVAL || !companion_follows) throw;
    return false;
  }
}

void apply_cpu(const std::string& dir, const Resources::Cpu& c) {
  if (c.shares && *c.shares != 0) {
    write_knob(join_path(dir, "cpu.shares"), std::to_string(*c.shares));
    // The kernel clamps out-of-range shares silently: read back, as runc does.
    if (auto actual = read_u64(dir, "cpu.shares"); actual && *actual != *c.shares) {
      throw std::invalid_argument("linux.resources.cpu.shares: " + std::to_string(*c.shares) +
                                  " is out of the kernel's range (it would be " +
                                  std::to_string(*actual) + ")");
    }
  }
  bool quota = c.quota && *c.quota != 0;
  bool period_pending = false;
  if (c.period && *c.period != 0) {
    period_pending =
        !write_or_defer(join_path(dir, "cpu.cfs_period_us"), std::to_string(*c.period), quota);
  }
  bool burst_pending = false;
  if (c.burst) {
    std::string file = join_path(dir, "cpu.cfs_burst_us");
    if (file_exists(file)) {  // older kernels have no burst: ignored, as runc does
      burst_pending = !write_or_defer(file, std::to_string(*c.burst), quota);
    }
  }
  if (quota) {
    write_knob(join_path(dir, "cpu.cfs_quota_us"), std::to_string(*c.quota));
    if (period_pending) write_knob(join_path(dir, "cpu.cfs_period_us"), std::to_string(*c.period));
    if (burst_pending) write_knob(join_path(dir, "cpu.cfs_burst_us"), std::to_string(*c.burst));
  }
  if (c.idle) write_knob(join_path(dir, "cpu.idle"), std::to_string(*c.idle));

  bool runtime = c.realtime_runtime && *c.realtime_runtime != 0;
  bool rt_period_pending = false;
  if (c.realtime_period && *c.realtime_period != 0) {
    rt_period_pending = !write_or_defer(join_path(dir, "cpu.rt_period_us"),
                                        std::to_string(*c.realtime_period), runtime);
  }
  if (runtime) {
    write_knob(join_path(dir, "cpu.rt_runtime_us"), std::to_string(*c.realtime_runtime));
    if (rt_period_pending) {
      write_knob(join_path(dir, "cpu.rt_period_us"), std::to_string(*c.realtime_period));
    }
  }
}

bool cpu_needs_cpu_controller(const Resources::Cpu& c) {
  return c.shares || c.quota || c.period || c.burst || c.idle || c.realtime_runtime ||
         c.realtime_period;
}

std::string device_value(int64_t major, int64_t minor, uint64_t value) {
  return std::to_string(major) + ":" + std::to_string(minor) + " " + std::to_string(value);
}

// blkio.weight exists with CFQ; with BFQ it is blkio.bfq.weight; with neither (mq-deadline,
// none) a weight cannot be set.
std::string weight_file(const std::string& dir, std::string_view knob) {
  std::string plain = join_path(dir, "blkio." + std::string(knob));
  if (file_exists(plain)) return plain;
  std::string bfq = join_path(dir, "blkio.bfq." + std::string(knob));
  if (file_exists(bfq)) return bfq;
  return plain;  // the write fails and names it
}

void apply_blkio(const std::string& dir, const Resources::BlockIo& b) {
  if (b.weight) write_knob(weight_file(dir, "weight"), std::to_string(*b.weight));
  if (b.leaf_weight)
    write_knob(join_path(dir, "blkio.leaf_weight"), std::to_string(*b.leaf_weight));
  for (const WeightDevice& wd : b.weight_devices) {
    if (wd.weight) {
      write_knob(weight_file(dir, "weight_device"), device_value(wd.major, wd.minor, *wd.weight));
    }
    if (wd.leaf_weight) {
      write_knob(join_path(dir, "blkio.leaf_weight_device"),
                 device_value(wd.major, wd.minor, *wd.leaf_weight));
    }
  }
  auto throttle = [&](const std::vector<ThrottleDevice>& devices, std::string_view knob) {
    for (const ThrottleDevice& td : devices) {
      write_knob(join_path(dir, "blkio.throttle." + std::string(knob)),
                 device_value(td.major, td.minor, td.rate));
    }
  };
  throttle(b.throttle_read_bps, "read_bps_device");
  throttle(b.throttle_write_bps, "write_bps_device");
  throttle(b.throttle_read_iops, "read_iops_device");
  throttle(b.throttle_write_iops, "write_iops_device");
}

bool blkio_has_values(const Resources::BlockIo& b) {
  return b.weight || b.leaf_weight || !b.weight_devices.empty() || !b.throttle_read_bps.empty() ||
         !b.throttle_write_bps.empty() || !b.throttle_read_iops.empty() ||
         !b.throttle_write_iops.empty();
}

// hugetlb.<size>.<limit_file>, and its .rsvd twin where the kernel has one (runc does the same).
void apply_hugetlb(const std::string& dir, const std::vector<HugepageLimit>& limits,
                   std::string_view limit_file) {
  bool rsvd = true;
  for (const HugepageLimit& h : limits) {
    std::string prefix = "hugetlb." + h.page_size;
    std::string value = std::to_string(h.limit);
    write_knob(join_path(dir, prefix + "." + std::string(limit_file)), value);
    if (!rsvd) continue;
    std::string rsvd_file = join_path(dir, prefix + ".rsvd." + std::string(limit_file));
    if (file_exists(rsvd_file)) {
      write_knob(rsvd_file, value);
    } else {
      rsvd = false;
    }
  }
}

// "8:0 Read 4096" lines; the "Total N" summary line is skipped.
std::vector<Stats::IoEntry> read_io_entries(const std::string& dir, std::string_view name) {
  std::vector<Stats::IoEntry> entries;
  std::optional<std::string> text =
      read_file_if_exists(join_path(dir, std::string(name) + "_recursive"));
  if (!text) text = read_file_if_exists(join_path(dir, name));
  if (!text) return entries;
  for (std::string_view line : split(*text, "\n")) {
    std::vector<std::string_view> fields = split(line, " \t");
    if (fields.size() != 3) continue;
    std::vector<std::string_view> numbers = split(fields[0], ":");
    auto major = numbers.size() == 2 ? parse_u64(numbers[0]) : std::nullopt;
    auto minor = numbers.size() == 2 ? parse_u64(numbers[1]) : std::nullopt;
    auto value = parse_u64(fields[2]);
    if (!major || !minor || !value) continue;
    entries.push_back({static_cast<int64_t>(*major), static_cast<int64_t>(*minor),
                       std::string(fields[1]), *value});
  }
  return entries;
}

// ---------------------------------------------------------------------------------------------

[[noreturn]] void freezer_failed(const std::string& file, const std::string& what) {
  throw std::runtime_error(file + ": " + what);
}

class CgroupV1 final : public Cgroup {
 public:
  CgroupV1(std::string path, const std::map<std::string, std::string>& controller_paths, Mode mode,
           Hierarchies hierarchies)
      : path_(std::move(path)),
        mode_(mode),
        mounts_(std::move(hierarchies.mounts)),
        controller_paths_(controller_paths) {
    for (const auto& [controller, mount] : mounts_)
      dirs_[controller] = below(mount, path_of(controller));
    if (mode_ == Mode::Hybrid && !hierarchies.unified.empty()) {
      unified_mount_ = hierarchies.unified;
      unified_dir_ = below(unified_mount_, path_of(""));
    }
  }

  const std::string& path() const override { return path_; }
  Mode mode() const override { return mode_; }

  bool create() override {
    bool made = false;
    const std::string* leaf = process_dir();
    for (const std::string& dir : all_dirs()) {
      if (leaf == nullptr || dir != *leaf) {
        make_dirs(dir);
        continue;
      }
      // The hierarchy that lists the processes says whether this call made the cgroup.
      make_dirs(dir.substr(0, dir.rfind('/')));
      made = ::mkdir(dir.c_str(), 0755) == 0;
      if (!made && errno != EEXIST) throw_sys("mkdir", dir);
    }
    if (auto it = mounts_.find("cpuset"); it != mounts_.end()) fill_cpusets(it->second);
    return made;
  }

  void apply(const Resources& r) override {
    validate(r, mode_);
    if (r.cpu && (!r.cpu->cpus.empty() || !r.cpu->mems.empty())) {
      const std::string& dir = need("cpuset", "linux.resources.cpu.cpus/mems");
      if (!r.cpu->cpus.empty()) write_knob(join_path(dir, "cpuset.cpus"), r.cpu->cpus);
      if (!r.cpu->mems.empty()) write_knob(join_path(dir, "cpuset.mems"), r.cpu->mems);
    }
    if (!r.devices.empty()) apply_devices(need("devices", "linux.resources.devices"), r.devices);
    if (r.memory) apply_memory(need("memory", "linux.resources.memory"), *r.memory);
    if (r.cpu && cpu_needs_cpu_controller(*r.cpu)) {
      apply_cpu(need("cpu", "linux.resources.cpu"), *r.cpu);
    }
    if (r.pids_limit) {
      write_knob(join_path(need("pids", "linux.resources.pids"), "pids.max"),
                 *r.pids_limit <= 0 ? std::string("max") : std::to_string(*r.pids_limit));
    }
    if (r.block_io && blkio_has_values(*r.block_io)) {
      apply_blkio(need("blkio", "linux.resources.blockIO"), *r.block_io);
    }
    if (!r.hugepage_limits.empty()) apply_hugepages(r.hugepage_limits);
    if (!r.unified.empty()) apply_unified(r.unified);
  }

  int clone_into_fd() override { return -1; }

  void add_process(pid_t pid) override {
    std::string text = std::to_string(pid);
    for (const std::string& dir : all_dirs()) write_knob(join_path(dir, "cgroup.procs"), text);
  }

  std::vector<pid_t> processes() const override {
    std::set<pid_t> pids;
    if (const std::string* dir = process_dir()) collect_pids(*dir, pids);
    return {pids.begin(), pids.end()};
  }

  std::vector<HierarchyDir> hierarchy_dirs() const override {
    std::vector<HierarchyDir> result;
    for (const auto& [controller, mount] : mounts_) {
      std::string name = mount.substr(mount.rfind('/') + 1);
      bool seen = std::any_of(result.begin(), result.end(),
                              [&](const HierarchyDir& d) { return d.name == name; });
      if (!seen) result.push_back({name, dirs_.at(controller)});
    }
    if (!unified_dir_.empty()) result.push_back({"unified", unified_dir_});
    return result;
  }

  // As runc: write FROZEN until the kernel reports FROZEN (v1 may linger in FREEZING while
  // tasks fork), thawing briefly now and then; give up (thawed) after about 5 s.
  void freeze() override {
    std::string file = join_path(need("freezer", "freezing"), "freezer.state");
    auto deadline = Clock::now() + 5s;
    for (int attempt = 0;; ++attempt) {
      if (attempt % 50 == 49) {
        write_knob(file, "THAWED");
        std::this_thread::sleep_for(10ms);
      }
      write_knob(file, "FROZEN");
      std::string state(trim(read_file(file)));
      if (state == "FROZEN") return;
      if (state != "FREEZING") {
        freezer_failed(file, "unexpected state \"" + state + "\" while freezing");
      }
      if (Clock::now() >= deadline) break;
      if (attempt >= 10) std::this_thread::sleep_for(1ms);
    }
    write_knob(file, "THAWED");
    freezer_failed(file, "still FREEZING after 5 s; thawed again");
  }

  void thaw() override {
    std::string file = join_path(need("freezer", "thawing"), "freezer.state");
    auto deadline = Clock::now() + 5s;
    for (;;) {
      write_knob(file, "THAWED");
      std::string state(trim(read_file(file)));
      if (state == "THAWED") return;
      if (Clock::now() >= deadline) {
        freezer_failed(file, "still " + state + " after 5 s");
      }
      std::this_thread::sleep_for(1ms);
    }
  }

  // FROZEN through an ancestor only (freezer.self_freezing 0) is not this cgroup's own pause.
  bool frozen() const override {
    const std::string* dir = dir_of("freezer");
    if (dir == nullptr) return false;
    std::optional<std::string> state = read_file_if_exists(join_path(*dir, "freezer.state"));
    if (!state || trim(*state) != "FROZEN") return false;
    std::optional<uint64_t> self = read_u64(*dir, "freezer.self_freezing");
    return !self || *self == 1;
  }

  void kill_all(int signal) override {
    bool froze = false;
    if (dir_of("freezer") != nullptr && exists()) {
      try {
        freeze();
        froze = true;
      } catch (const std::exception& e) {
        log_warning(std::string("kill_all: signalling without freezing: ") + e.what());
      }
    }
    int failure = 0;
    pid_t failed_pid = 0;
    for (pid_t pid : processes()) {
      if (::kill(pid, signal) != 0 && errno != ESRCH && failure == 0) {
        failure = errno;
        failed_pid = pid;
      }
    }
    if (froze) thaw();
    if (failure != 0) throw_sys("kill", std::to_string(failed_pid), failure);
  }

  Stats stats() const override {
    Stats s;
    if (const std::string* dir = dir_of("cpuacct")) read_cpuacct(*dir, s.cpu);
    if (const std::string* dir = dir_of("cpu")) {
      auto values = read_key_values(join_path(*dir, "cpu.stat"));
      s.cpu.throttling_periods = values["nr_periods"];
      s.cpu.throttled_periods = values["nr_throttled"];
      s.cpu.throttled_time_ns = values["throttled_time"];
    }
    if (const std::string* dir = dir_of("memory")) {
      read_memory(*dir, s.memory);
      s.oom_kills = read_key_values(join_path(*dir, "memory.oom_control"))["oom_kill"];
    }
    if (const std::string* dir = dir_of("pids")) {
      s.pids.current = read_u64(*dir, "pids.current").value_or(0);
      s.pids.limit = read_u64(*dir, "pids.max").value_or(0);  // "max": 0
    }
    read_hugetlb(s.hugetlb);
    if (const std::string* dir = dir_of("blkio")) {
      s.io_service_bytes = read_io_entries(*dir, "blkio.throttle.io_service_bytes");
      s.io_serviced = read_io_entries(*dir, "blkio.throttle.io_serviced");
    }
    return s;
  }

  uint64_t oom_kill_count() const override {
    const std::string* dir = dir_of("memory");
    if (dir == nullptr) return 0;
    return read_key_values(join_path(*dir, "memory.oom_control"))["oom_kill"];
  }

  bool exists() const override {
    const std::string* dir = process_dir();
    struct stat st {};
    return dir != nullptr && ::stat(dir->c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  }

  void destroy() override {
    if (path_ == "/") return;  // never a hierarchy's root
    std::exception_ptr first_error;
    auto deadline = Clock::now() + 1s;  // for all hierarchies together
    for (const std::string& dir : all_dirs()) {
      try {
        remove_cgroup_dir(dir, deadline);
      } catch (...) {
        if (!first_error) first_error = std::current_exception();
      }
    }
    if (first_error) std::rethrow_exception(first_error);
  }

 private:
  // The cgroup's path below the hierarchy of `controller` ("" for the unified one).
  const std::string& path_of(const std::string& controller) const {
    auto it = controller_paths_.find(controller);
    return it == controller_paths_.end() ? path_ : it->second;
  }

  static std::string below(const std::string& mount, const std::string& path) {
    return path == "/" ? mount : mount + path;
  }

  const std::string* dir_of(std::string_view controller) const {
    auto it = dirs_.find(controller);
    return it == dirs_.end() ? nullptr : &it->second;
  }

  const std::string& need(std::string_view controller, std::string_view for_what) const {
    if (const std::string* dir = dir_of(controller)) return *dir;
    throw std::runtime_error("cgroup v1: no " + std::string(controller) +
                             " hierarchy is mounted (needed for " + std::string(for_what) + ")");
  }

  // Where processes are listed: memory, else pids, else any hierarchy.
  const std::string* process_dir() const {
    if (const std::string* dir = dir_of("memory")) return dir;
    if (const std::string* dir = dir_of("pids")) return dir;
    if (!dirs_.empty()) return &dirs_.begin()->second;
    if (!unified_dir_.empty()) return &unified_dir_;
    return nullptr;
  }

  // Each hierarchy's cgroup directory once (co-mounted controllers share one), then the
  // unified one on hybrid hosts.
  std::vector<std::string> all_dirs() const {
    std::vector<std::string> dirs;
    for (const auto& [controller, dir] : dirs_) {
      if (std::find(dirs.begin(), dirs.end(), dir) == dirs.end()) dirs.push_back(dir);
    }
    if (!unified_dir_.empty()) dirs.push_back(unified_dir_);
    return dirs;
  }

  // A new cpuset cgroup starts with empty cpuset.cpus and cpuset.mems, and a task cannot join
  // it: copy the parent's values down each level that is still empty.
  void fill_cpusets(const std::string& mount) const {
    std::string parent = mount;
    for (std::string_view component : split(path_of("cpuset"), "/")) {
      std::string child = join_path(parent, component);
      for (std::string_view knob : {"cpuset.cpus", "cpuset.mems"}) {
        std::optional<std::string> mine = read_file_if_exists(join_path(child, knob));
        if (!mine || !trim(*mine).empty()) continue;
        std::optional<std::string> theirs = read_file_if_exists(join_path(parent, knob));
        if (theirs && !trim(*theirs).empty()) write_knob(join_path(child, knob), trim(*theirs));
      }
      parent = child;
    }
  }

  // v1 hugetlb where mounted; on hybrid hosts that have it only in cgroup2, the unified cgroup
  // (with hugetlb enabled in every ancestor's cgroup.subtree_control).
  void apply_hugepages(const std::vector<HugepageLimit>& limits) {
    if (const std::string* dir = dir_of("hugetlb")) {
      apply_hugetlb(*dir, limits, "limit_in_bytes");
      return;
    }
    if (unified_dir_.empty() || !unified_has("hugetlb")) {
      throw std::runtime_error(
          "linux.resources.hugepageLimits: the hugetlb controller is not available (no v1 "
          "hierarchy" +
          std::string(mode_ == Mode::Hybrid ? " and not in the unified cgroup2)" : ")"));
    }
    enable_in_unified("hugetlb");
    apply_hugetlb(unified_dir_, limits, "max");
  }

  bool unified_has(std::string_view controller) const {
    std::optional<std::string> text =
        read_file_if_exists(join_path(unified_mount_, "cgroup.controllers"));
    if (!text) return false;
    std::vector<std::string_view> names = split(*text, " \n");
    return std::find(names.begin(), names.end(), controller) != names.end();
  }

  void enable_in_unified(std::string_view controller) const {
    std::string dir = unified_mount_;
    for (std::string_view component : split(path_of(""), "/")) {
      std::string file = join_path(dir, "cgroup.subtree_control");
      std::optional<std::string> enabled = read_file_if_exists(file);
      std::vector<std::string_view> names = split(enabled.value_or(""), " \n");
      if (std::find(names.begin(), names.end(), controller) == names.end()) {
        write_knob(file, "+" + std::string(controller));
      }
      dir = join_path(dir, component);
    }
  }

  void apply_unified(const std::map<std::string, std::string>& values) {
    if (unified_dir_.empty()) invalid("linux.resources.unified", "no cgroup2 hierarchy is mounted");
    for (const auto& [key, value] : values) {
      std::string file = join_path(unified_dir_, key);
      if (!file_exists(file)) {
        invalid("linux.resources.unified", "\"" + key + "\" does not exist in " + unified_dir_);
      }
      write_knob(file, value);
    }
  }

  static void read_cpuacct(const std::string& dir, Stats::Cpu& cpu) {
    cpu.usage_total_ns = read_u64(dir, "cpuacct.usage").value_or(0);
    if (std::optional<std::string> text =
            read_file_if_exists(join_path(dir, "cpuacct.usage_percpu"))) {
      for (std::string_view field : split(*text, " \n")) {
        if (auto value = parse_u64(field)) cpu.usage_per_cpu_ns.push_back(*value);
      }
    }
    // cpuacct.stat counts USER_HZ ticks.
    auto ticks = read_key_values(join_path(dir, "cpuacct.stat"));
    long hz = ::sysconf(_SC_CLK_TCK);
    uint64_t ns_per_tick = hz > 0 ? 1000000000ull / static_cast<uint64_t>(hz) : 10000000ull;
    cpu.usage_user_ns = ticks["user"] * ns_per_tick;
    cpu.usage_kernel_ns = ticks["system"] * ns_per_tick;
  }

  static void read_memory(const std::string& dir, Stats::Memory& memory) {
    memory.usage = read_u64(dir, "memory.usage_in_bytes").value_or(0);
    memory.max_usage = read_u64(dir, "memory.max_usage_in_bytes").value_or(0);
    memory.limit = read_u64(dir, "memory.limit_in_bytes").value_or(0);
    memory.failcnt = read_u64(dir, "memory.failcnt").value_or(0);
    memory.swap_usage = read_u64(dir, "memory.memsw.usage_in_bytes").value_or(0);
    memory.swap_limit = read_u64(dir, "memory.memsw.limit_in_bytes").value_or(0);
    memory.raw = read_key_values(join_path(dir, "memory.stat"));
    if (auto it = memory.raw.find("cache"); it != memory.raw.end()) memory.cache = it->second;
  }

  void read_hugetlb(std::map<std::string, Stats::Hugetlb>& out) const {
    const std::string* v1 = dir_of("hugetlb");
    const std::string& dir = v1 != nullptr ? *v1 : unified_dir_;
    if (dir.empty()) return;
    std::string_view usage_suffix = v1 != nullptr ? ".usage_in_bytes" : ".current";
    for (const std::string& name : list_dir(dir, false)) {
      if (!name.starts_with("hugetlb.") || !name.ends_with(usage_suffix)) continue;
      std::string size = name.substr(8, name.size() - 8 - usage_suffix.size());
      if (size.empty() || size.find('.') != std::string::npos) continue;  // skips ".rsvd"
      std::string prefix = "hugetlb." + size;
      Stats::Hugetlb& h = out[size];
      h.usage = read_u64(dir, name).value_or(0);
      if (v1 != nullptr) {
        h.max_usage = read_u64(dir, prefix + ".max_usage_in_bytes").value_or(0);
        h.failcnt = read_u64(dir, prefix + ".failcnt").value_or(0);
      } else {
        h.failcnt = read_key_values(join_path(dir, prefix + ".events"))["max"];
      }
    }
  }

  std::string path_;
  Mode mode_;
  std::map<std::string, std::string, std::less<>> mounts_;  // controller -> hierarchy root
  std::map<std::string, std::string> controller_paths_;     // where not `path_`
  std::map<std::string, std::string, std::less<>> dirs_;    // controller -> this cgroup's dir
  std::string unified_mount_;                               // hybrid only
  std::string unified_dir_;                                 // hybrid only
};

}  // namespace

std::unique_ptr<Cgroup> make_cgroup_v1(const std::string& path,
                                       const std::map<std::string, std::string>& controller_paths,
                                       const std::string& root, Mode mode) {
  std::string clean_root = root;
  while (clean_root.size() > 1 && clean_root.back() == '/') clean_root.pop_back();
  Hierarchies hierarchies =
      clean_root == kDefaultRoot ? hierarchies_from_mountinfo() : hierarchies_from_tree(clean_root);
  return std::make_unique<CgroupV1>(path, controller_paths, mode, std::move(hierarchies));
}

}  // namespace hanok::isolate::cgroup
