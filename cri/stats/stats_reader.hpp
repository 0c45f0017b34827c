// Private to cri/: a container's resource use as the CRI's ContainerStats, from its cgroup (cpu,
// memory, the working set as the kubelet computes it, swap) and its writable layer; the same
// readings for a pod's cgroup.
#pragma once

#include "runtime_v1.pb.h"
#include "stats_collector.hpp"
#include "store.pb.h"

namespace hanok::cri {

// The cgroup read now; usage_nano_cores and the writable layer as `collector` last saw them.
runtime::v1::ContainerStats container_stats(const StatsCollector& collector,
                                            const store::ContainerRecord& container);

// Where read_cgroup_usage puts what it reads (swap, process and io may be null).
struct CgroupUsage {
  runtime::v1::CpuUsage* cpu;
  runtime::v1::MemoryUsage* memory;
  runtime::v1::SwapUsage* swap;
  runtime::v1::ProcessUsage* process;
  runtime::v1::IoUsage* io = nullptr;
};
// A cgroup's cpu (usage_nano_cores from the collector's last two samples, unset before two),
// memory (the working set as the kubelet computes it; available = limit - working set), swap
// and process count, and where the cgroup has a v2 directory with PSI, the cpu, memory and io
// pressure; false when the cgroup is gone.
bool read_cgroup_usage(const StatsCollector& collector, const std::string& cgroup_path, int64_t now,
                       CgroupUsage usage);

}  // namespace hanok::cri
