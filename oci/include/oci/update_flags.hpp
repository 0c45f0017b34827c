// runc update's resource flags (--memory, --cpu-quota, ...) turned into cgroup::Resources.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "isolate/cgroup.hpp"

namespace hanok::oci {

// `flags` maps flag names without "--" to their values: {"memory", "64m"}, {"cpu-quota",
// "50000"}. Handled: blkio-weight, cpu-period, cpu-quota, cpu-burst, cpu-share, cpu-rt-period,
// cpu-rt-runtime, cpu-idle, cpuset-cpus, cpuset-mems, memory, memory-reservation, memory-swap,
// pids-limit; kernel-memory and kernel-memory-tcp are ignored with a warning (as runc does);
// l3-cache-schema and mem-bw-schema are rejected (no Intel RDT). An empty value means "not
// given" and a zero means "unchanged" where runc reads it so (see parse_resources). The values
// are checked with validate_resources. Throws std::invalid_argument naming the flag:
// `--memory: invalid size "abc"`, `--cpu-share: must be from 2 to 262144`.
isolate::cgroup::Resources resources_from_update_flags(
    const std::map<std::string, std::string>& flags);

// A byte count as runc's flags take it (go-units RAMInBytes): "1024", "64m", "1.5g", "512KiB",
// "2 GB"; k, m, g, t, p are powers of 1024, case-insensitive, with an optional "i" and "b".
// nullopt when it is not one or exceeds int64.
std::optional<int64_t> parse_byte_size(std::string_view text);

}  // namespace hanok::oci
