#include "stats_reader.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include "isolate/cgroup.hpp"
#include "isolate/clock.hpp"
#include "psi_reader.hpp"

namespace hanok::cri {

namespace {
uint64_t stat_value(const isolate::cgroup::Stats& stats, const char* v2, const char* v1) {
  auto it = stats.memory.raw.find(v2);
  if (it != stats.memory.raw.end()) return it->second;
  it = stats.memory.raw.find(v1);
  return it != stats.memory.raw.end() ? it->second : 0;
}

}  // namespace

bool read_cgroup_usage(const StatsCollector& collector, const std::string& cgroup_path, int64_t now,
                       CgroupUsage usage) {
  if (cgroup_path.empty()) return false;
  try {
    auto cgroup = isolate::cgroup::open_cgroup(cgroup_path);
    if (!cgroup->exists()) return false;
    isolate::cgroup::Stats stats = cgroup->stats();
    auto* cpu = usage.cpu;
    cpu->set_timestamp(now);
    cpu->mutable_usage_core_nano_seconds()->set_value(stats.cpu.usage_total_ns);
    if (auto rate = collector.nano_cores(cgroup_path)) {
      cpu->mutable_usage_nano_cores()->set_value(*rate);
    }
    auto* memory = usage.memory;
    memory->set_timestamp(now);
    uint64_t used = stats.memory.usage;
    uint64_t inactive = stat_value(stats, "inactive_file", "total_inactive_file");
    uint64_t working_set = used > inactive ? used - inactive : 0;
    memory->mutable_working_set_bytes()->set_value(working_set);
    memory->mutable_usage_bytes()->set_value(used);
    memory->mutable_rss_bytes()->set_value(stat_value(stats, "anon", "total_rss"));
    memory->mutable_page_faults()->set_value(stat_value(stats, "pgfault", "total_pgfault"));
    memory->mutable_major_page_faults()->set_value(
        stat_value(stats, "pgmajfault", "total_pgmajfault"));
    // What the kubelet's eviction counts on: the limit less the working set (as containerd's
    // getAvailableBytes), not less the usage, which includes reclaimable page cache.
    // No limit (v2 "max", v1's huge number): no figure, as containerd (limits past 2^62).
    constexpr uint64_t kUnlimited = uint64_t{1} << 62;
    if (stats.memory.limit > 0 && stats.memory.limit <= kUnlimited &&
        stats.memory.limit > working_set) {
      memory->mutable_available_bytes()->set_value(stats.memory.limit - working_set);
    }
    if (usage.swap != nullptr) {
      usage.swap->set_timestamp(now);
      usage.swap->mutable_swap_usage_bytes()->set_value(stats.memory.swap_usage);
      if (stats.memory.swap_limit > stats.memory.swap_usage) {
        usage.swap->mutable_swap_available_bytes()->set_value(stats.memory.swap_limit -
                                                              stats.memory.swap_usage);
      }
    }
    for (const auto& dir : cgroup->hierarchy_dirs()) {
      if (!dir.name.empty() && dir.name != "unified") continue;  // v1 controllers: no PSI
      runtime::v1::PsiStats psi;
      if (read_psi(dir.dir, "cpu", psi)) *cpu->mutable_psi() = psi;
      psi.Clear();
      if (read_psi(dir.dir, "memory", psi)) *memory->mutable_psi() = psi;
      psi.Clear();
      if (usage.io != nullptr && read_psi(dir.dir, "io", psi)) {
        *usage.io->mutable_psi() = psi;
        usage.io->set_timestamp(now);
      }
    }
    if (usage.process != nullptr) {
      usage.process->set_timestamp(now);
      uint64_t count = stats.pids.current;
      if (count == 0) count = cgroup->processes().size();
      usage.process->mutable_process_count()->set_value(count);
    }
    return true;
  } catch (const std::exception& e) {
    spdlog::debug("cgroup {}: stats: {}", cgroup_path, e.what());
    return false;
  }
}

runtime::v1::ContainerStats container_stats(const StatsCollector& collector,
                                            const store::ContainerRecord& container) {
  runtime::v1::ContainerStats out;
  auto* attributes = out.mutable_attributes();
  attributes->set_id(container.id());
  *attributes->mutable_metadata() = container.config().metadata();
  *attributes->mutable_labels() = container.config().labels();
  *attributes->mutable_annotations() = container.config().annotations();
  int64_t now = isolate::unix_now_ns();
  out.mutable_cpu()->set_timestamp(now);
  out.mutable_memory()->set_timestamp(now);
  if (container.state() == runtime::v1::CONTAINER_RUNNING) {
    runtime::v1::IoUsage io;  // only where the kernel has io pressure for the cgroup
    read_cgroup_usage(collector, container.cgroup_path(), now,
                      {out.mutable_cpu(), out.mutable_memory(), out.mutable_swap(), nullptr, &io});
    if (io.timestamp() > 0) *out.mutable_io() = io;
  }
  // The writable layer as the collector last walked it (a new container's is empty).
  auto* layer = out.mutable_writable_layer();
  auto usage = collector.writable_layer(container.id());
  layer->set_timestamp(usage ? usage->at_ns : now);
  layer->mutable_fs_id()->set_mountpoint(collector.layers_root());
  layer->mutable_used_bytes()->set_value(usage ? usage->bytes : 0);
  layer->mutable_inodes_used()->set_value(usage ? usage->inodes : 0);
  return out;
}

}  // namespace hanok::cri
