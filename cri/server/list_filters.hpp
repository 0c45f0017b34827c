// Private to cri/: the list calls' filters (id or id prefix, state, pod, label selector), which
// the unary lists and their streamed forms share.
#pragma once

#include "runtime_v1.pb.h"
#include "store.pb.h"

namespace hanok::cri {

bool pod_matches(const store::PodRecord& pod, const runtime::v1::PodSandboxFilter& filter);
bool container_matches(const store::ContainerRecord& container,
                       const runtime::v1::ContainerFilter& filter);
bool container_stats_match(const store::ContainerRecord& container,
                           const runtime::v1::ContainerStatsFilter& filter);

}  // namespace hanok::cri
