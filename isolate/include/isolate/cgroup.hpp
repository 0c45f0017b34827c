// Cgroups: one interface over cgroup v2 and the v1 fallback, the OCI resources typed, and
// systemd-style path naming. Nothing here knows OCI JSON: oci/ turns linux.resources into
// cgroup::Resources.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace hanok::isolate::cgroup {

// Unified: cgroup2 at /sys/fs/cgroup. Hybrid: v1 controllers at /sys/fs/cgroup/<ctrl> plus a
// cgroup2 at /sys/fs/cgroup/unified. Legacy: v1 only.
enum class Mode { Unified, Hybrid, Legacy };
Mode detect_mode();  // detected once per process
const char* mode_name(Mode mode);

struct DeviceRule {
  bool allow = false;
  char type = 'a';     // 'a' (all), 'c', 'b'
  int64_t major = -1;  // -1: any
  int64_t minor = -1;  // -1: any
  std::string access = "rwm";
};

struct WeightDevice {
  int64_t major = 0;
  int64_t minor = 0;
  std::optional<uint16_t> weight;
  std::optional<uint16_t> leaf_weight;
};

struct ThrottleDevice {
  int64_t major = 0;
  int64_t minor = 0;
  uint64_t rate = 0;
};

struct HugepageLimit {
  std::string page_size;  // "2MB", "1GB"
  uint64_t limit = 0;
};

// OCI linux.resources, typed. Absent fields are left as they are.
struct Resources {
  std::vector<DeviceRule> devices;

  struct Memory {
    std::optional<int64_t> limit;        // bytes; -1 unlimited
    std::optional<int64_t> reservation;  // bytes; -1 unlimited
    std::optional<int64_t> swap;         // memory+swap bytes (runc's meaning); -1 unlimited
    std::optional<int64_t> kernel;       // v1 only, deprecated
    std::optional<int64_t> kernel_tcp;   // v1 only
    std::optional<uint64_t> swappiness;  // v1 only
    std::optional<bool> disable_oom_killer;
    std::optional<bool> use_hierarchy;
    std::optional<bool> check_before_update;
  };
  std::optional<Memory> memory;

  struct Cpu {
    std::optional<uint64_t> shares;
    std::optional<int64_t> quota;    // microseconds; -1 unlimited
    std::optional<uint64_t> burst;   // microseconds
    std::optional<uint64_t> period;  // microseconds
    std::optional<int64_t> realtime_runtime;
    std::optional<uint64_t> realtime_period;
    std::string cpus;
    std::string mems;
    std::optional<int64_t> idle;
  };
  std::optional<Cpu> cpu;

  std::optional<int64_t> pids_limit;  // <= 0: unlimited

  struct BlockIo {
    std::optional<uint16_t> weight;
    std::optional<uint16_t> leaf_weight;
    std::vector<WeightDevice> weight_devices;
    std::vector<ThrottleDevice> throttle_read_bps;
    std::vector<ThrottleDevice> throttle_write_bps;
    std::vector<ThrottleDevice> throttle_read_iops;
    std::vector<ThrottleDevice> throttle_write_iops;
  };
  std::optional<BlockIo> block_io;

  std::vector<HugepageLimit> hugepage_limits;
  std::map<std::string, std::string> unified;  // v2 file -> value, written as given
};

struct Stats {
  struct Cpu {
    uint64_t usage_total_ns = 0;
    uint64_t usage_user_ns = 0;
    uint64_t usage_kernel_ns = 0;
    std::vector<uint64_t> usage_per_cpu_ns;  // v1 only
    uint64_t throttling_periods = 0;
    uint64_t throttled_periods = 0;
    uint64_t throttled_time_ns = 0;
  } cpu;
  struct Memory {
    uint64_t usage = 0;
    uint64_t max_usage = 0;  // v1 max_usage_in_bytes; v2 memory.peak where present
    uint64_t limit = 0;
    uint64_t failcnt = 0;
    uint64_t swap_usage = 0;
    uint64_t swap_limit = 0;
    uint64_t cache = 0;
    std::map<std::string, uint64_t> raw;  // memory.stat
  } memory;
  struct Pids {
    uint64_t current = 0;
    uint64_t limit = 0;  // 0: unlimited
  } pids;
  struct Hugetlb {
    uint64_t usage = 0;
    uint64_t max_usage = 0;
    uint64_t failcnt = 0;
  };
  std::map<std::string, Hugetlb> hugetlb;  // by page size, "2MB"
  struct IoEntry {
    int64_t major = 0;
    int64_t minor = 0;
    std::string op;  // "Read", "Write", ... (runc's blkio naming)
    uint64_t value = 0;
  };
  std::vector<IoEntry> io_service_bytes;
  std::vector<IoEntry> io_serviced;
  uint64_t oom_kills = 0;
};

// A cgroup's directory in one hierarchy, as a container's /sys/fs/cgroup shows it: `name` is the
// hierarchy's directory name there ("memory", "cpu,cpuacct"; "" for cgroup v2) and `dir` the
// cgroup's directory on the host.
struct HierarchyDir {
  std::string name;
  std::string dir;
};

// Where a cgroup is: `path` below each hierarchy's root, except the v1 controllers named in
// `controller_paths` ("" is the hybrid host's cgroup2 hierarchy), which have a path of their own
// (a relative cgroupsPath is placed below the caller's own cgroup, and on v1 that differs from
// one hierarchy to another).
struct Location {
  std::string path;
  std::map<std::string, std::string> controller_paths;
};

// A cgroupsPath placed as runc places it. Absolute: as it is. Relative: on cgroup v2 below the
// parent of the caller's own cgroup, on v1 below the caller's own cgroup in each hierarchy
// (`self_cgroup` is /proc/self/cgroup's text). Throws std::invalid_argument for ".." or a path
// that is the hierarchy root.
Location locate_cgroup(const std::string& cgroups_path, Mode mode, const std::string& self_cgroup);
Location locate_cgroup(const std::string& cgroups_path);  // this process, the host's mode

// One container's (or pod's) cgroup.
class Cgroup {
 public:
  virtual ~Cgroup() = default;

  // The path below the hierarchy root, e.g. "/kubepods/burstable/pod1/c1".
  virtual const std::string& path() const = 0;
  virtual Mode mode() const = 0;
  // mkdir -p, enabling in every parent's cgroup.subtree_control the controllers needed (v2).
  // Existing cgroups are fine. Errors name the directory. Returns whether this call made the
  // cgroup itself (its own directory did not exist before).
  virtual bool create() = 0;
  // Writes the limits. Errors name the file and the value: "memory.max: write 12: ...".
  virtual void apply(const Resources& resources) = 0;
  // v2: an O_PATH|O_DIRECTORY fd of the cgroup for clone3(CLONE_INTO_CGROUP); -1 on v1.
  virtual int clone_into_fd() = 0;
  virtual void add_process(pid_t pid) = 0;
  // Every process in the cgroup and in the cgroups below it.
  virtual std::vector<pid_t> processes() const = 0;
  // Its directory in each hierarchy (one on cgroup v2; one per v1 mount, co-mounted controllers
  // sharing one).
  virtual std::vector<HierarchyDir> hierarchy_dirs() const = 0;
  // Freezes (v2 cgroup.freeze, v1 freezer) and waits until the kernel reports it frozen.
  virtual void freeze() = 0;
  virtual void thaw() = 0;
  virtual bool frozen() const = 0;
  // Signals every process: SIGKILL through cgroup.kill where the kernel has it.
  virtual void kill_all(int signal) = 0;
  virtual Stats stats() const = 0;
  // memory.events oom_kill (v2) / memory.oom_control oom_kill (v1).
  virtual uint64_t oom_kill_count() const = 0;
  virtual bool exists() const = 0;
  // rmdir, retrying briefly while processes drain; a missing cgroup is fine.
  virtual void destroy() = 0;
};

// `path` absolute below the hierarchy root. `root` is where the hierarchy (v2) or the v1
// controller directories live.
std::unique_ptr<Cgroup> open_cgroup(const std::string& path, Mode mode = detect_mode(),
                                    const std::string& root = "/sys/fs/cgroup");
std::unique_ptr<Cgroup> open_cgroup(const Location& location, Mode mode = detect_mode(),
                                    const std::string& root = "/sys/fs/cgroup");

// systemd driver names (runc's "slice:prefix:name"):
// "kubepods-burstable-pod1.slice:cri-hanok:abc"
//   -> "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice/cri-hanok-abc.scope"
// An empty slice means "system.slice". Throws std::invalid_argument naming what is wrong.
std::string systemd_cgroup_path(const std::string& slice_prefix_name);
// "kubepods-burstable-pod1.slice" ->
// "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice"
std::string expand_slice(const std::string& slice);

// Whether process `pid` is in the cgroup at `path` (below the hierarchy root) in any hierarchy,
// by /proc/<pid>/cgroup as this process's cgroup namespace shows it.
bool process_in_cgroup(pid_t pid, const std::string& path);

// cpu.shares (v1, 2..262144) -> cpu.weight (v2, 1..10000), as runc 1.4 (opencontainers/cgroups).
uint64_t cpu_shares_to_weight(uint64_t shares);
// blkio weight (10..1000) -> io.weight (1..10000).
uint64_t blkio_weight_to_io_weight(uint64_t weight);
// OCI memory.swap is memory+swap; v2 memory.swap.max is swap alone: swap - limit
// (-1 stays "max"). Throws when swap < limit.
int64_t memory_swap_to_v2(int64_t swap, int64_t limit);

}  // namespace hanok::isolate::cgroup
