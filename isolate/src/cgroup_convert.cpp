// cgroup v1 values in OCI resources -> their cgroup v2 counterparts, with the formulas runc
// uses, so that hanok writes the numbers runc writes.
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "isolate/cgroup.hpp"

namespace hanok::isolate::cgroup {

uint64_t cpu_shares_to_weight(uint64_t shares) {
  if (shares == 0) return 0;  // unset
  // The quadratic fit in log space of opencontainers/cgroups (ConvertCPUSharesToCgroupV2Value,
  // utils.go, since v0.0.3, which runc 1.4 uses; kubernetes/kubernetes#131216): 2 -> 1,
  // 1024 (one cpu) -> 100 (cgroup v2's default weight, as one cpu's share is v1's default),
  // 262144 -> 10000. The linear map it replaced, 1 + (shares - 2) * 9999 / 262142, gave one
  // cpu a weight of 39, below a process outside any container. (The kubelet's own pod and QoS
  // cgroups still use the linear map; the containers' weights are the runtime's, as runc's.)
  if (shares <= 2) return 1;
  if (shares >= 262144) return 10000;
  double l = std::log2(static_cast<double>(shares));
  double exponent = (l * l + 125 * l) / 612.0 - 7.0 / 34.0;
  return static_cast<uint64_t>(std::ceil(std::pow(10.0, exponent)));
}

uint64_t blkio_weight_to_io_weight(uint64_t weight) {
  if (weight == 0) return 0;  // unset
  // [10, 1000] linearly onto [1, 10000].
  weight = std::clamp<uint64_t>(weight, 10, 1000);
  return 1 + ((weight - 10) * 9999) / 990;
}

// As runc's ConvertMemorySwapToCgroupV2Value: 0 means "unset" for both values, -1 unlimited.
int64_t memory_swap_to_v2(int64_t swap, int64_t limit) {
  if (swap < -1)
    throw std::invalid_argument("linux.resources.memory.swap: invalid value " +
                                std::to_string(swap));
  if (limit == -1 && swap == 0) return -1;  // unlimited memory, swap unset: both unlimited
  if (swap == -1 || swap == 0) return swap;
  if (limit == -1) return swap;  // unlimited memory: the swap part is the whole value
  if (limit == 0)
    throw std::invalid_argument(
        "linux.resources.memory.swap: cannot be set without a memory limit");
  if (limit < 0)
    throw std::invalid_argument("linux.resources.memory.limit: invalid value " +
                                std::to_string(limit));
  if (swap < limit)
    throw std::invalid_argument("linux.resources.memory.swap: must be >= memory limit (" +
                                std::to_string(swap) + " < " + std::to_string(limit) + ")");
  return swap - limit;
}

}  // namespace hanok::isolate::cgroup
