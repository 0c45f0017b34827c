// Private to cri/: the cAdvisor-less metrics of KEP-2371: the container_* series the kubelet
// serves on /metrics/cadvisor, described once (ListMetricDescriptors) and sampled per pod
// (ListPodSandboxMetrics): per container its cpu, memory, oom events, processes and times; per
// pod the counters of its network interfaces. Values are whole numbers (the CRI's UInt64Value):
// seconds are truncated.
#pragma once

#include <vector>

#include "runtime_v1.pb.h"
#include "stats_collector.hpp"
#include "store.pb.h"

namespace hanok::cri {

const std::vector<runtime::v1::MetricDescriptor>& metric_descriptors();
// `containers`: the pod's (others' are left out).
runtime::v1::PodSandboxMetrics pod_metrics(const StatsCollector& collector,
                                           const store::PodRecord& pod,
                                           const std::vector<store::ContainerRecord>& containers);

}  // namespace hanok::cri
