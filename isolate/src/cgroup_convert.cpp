// cgroup v1 values in OCI resources -> their cgroup v2 counterparts, with the formulas runc,
// crun and the kubelet share, so that every runtime writes the same numbers.
#include <algorithm>
#include <stdexcept>
#include <string>

#include "isolate/cgroup.hpp"

namespace hanok::isolate::cgroup {

uint64_t cpu_shares_to_weight(uint64_t shares) {
  if (shares == 0) return 0;  // unset
  // [2, 262144] linearly onto [1, 10000].
  shares = std::clamp<uint64_t>(shares, 2, 262144);
  return 1 + ((shares - 2) * 9999) / 262142;
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
