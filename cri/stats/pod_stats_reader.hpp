// Private to cri/: a pod's resource use as the CRI's PodSandboxStats: its cgroup (cpu, memory,
// processes), the network interfaces of its network namespace, and its containers' stats.
#pragma once

#include <string>
#include <vector>

#include "runtime_v1.pb.h"
#include "stats_collector.hpp"
#include "store.pb.h"

namespace hanok::cri {

// `containers`: the pod's (others' are left out).
runtime::v1::PodSandboxStats pod_stats(const StatsCollector& collector, const store::PodRecord& pod,
                                       const std::vector<store::ContainerRecord>& containers);

struct InterfaceCounters {
  std::string name;
  uint64_t rx_bytes = 0, rx_errors = 0, tx_bytes = 0, tx_errors = 0;
};
// The interfaces of /proc/net/dev text (loopback left out).
std::vector<InterfaceCounters> parse_net_dev(const std::string& text);

}  // namespace hanok::cri
