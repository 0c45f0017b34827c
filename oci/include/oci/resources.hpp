// OCI linux.resources <-> isolate::cgroup::Resources: parsing with JSON-path errors, the value
// rules runc enforces, the inverse (for state files and `hanok update`) and update merging.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "isolate/cgroup.hpp"

namespace hanok::oci {

// Parses a linux.resources object (null: empty Resources) and validates it. Errors are
// SpecError starting with the JSON path: `linux.resources.memory.swap: must be at least
// memory.limit`. Unknown fields are ignored; network and rdma are accepted but not applied.
// The zero values runc treats as "unset" (cpu.shares, cpu.quota, cpu.period,
// cpu.realtimePeriod, memory.swap, blockIO.weight, blockIO.leafWeight) and swappiness
// 18446744073709551615 (runc's -1) come back as nullopt, so the cgroup layer never sees them.
isolate::cgroup::Resources parse_resources(const nlohmann::json& resources,
                                           const std::string& path_prefix = "linux.resources");

// The value rules alone (parse_resources calls it); fields are named as in OCI JSON below
// `path_prefix`. Throws SpecError.
void validate_resources(const isolate::cgroup::Resources& r,
                        const std::string& path_prefix = "linux.resources");

// The inverse of parse_resources, with the OCI field names; unset fields are left out.
nlohmann::json resources_to_json(const isolate::cgroup::Resources& r);

// `hanok update`: every field set in `update` replaces the one in `base` (optional fields one
// by one; non-empty vectors and strings replace; unified keys replace key by key). As runc
// update does, memory.limit -1 without memory.swap also makes swap -1.
isolate::cgroup::Resources merge_resources(const isolate::cgroup::Resources& base,
                                           const isolate::cgroup::Resources& update);

// A cpuset list as the kernel takes it: "0-3,5", ascending ranges; "" is valid (unset).
bool valid_cpuset_list(std::string_view list);

}  // namespace hanok::oci
