// Private to cri/: a container's resource use as the CRI's ContainerStats, from its cgroup (cpu,
// memory, the working set as the kubelet computes it) and its writable layer.
#pragma once

#include "runtime_core.hpp"
#include "runtime_v1.pb.h"

namespace hanok::cri {

runtime::v1::ContainerStats container_stats(RuntimeCore& core,
                                            const store::ContainerRecord& container);

}  // namespace hanok::cri
