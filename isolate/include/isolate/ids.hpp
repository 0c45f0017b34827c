// User-namespace id mappings.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace hanok::isolate {

struct IdMapping {
  uint32_t container_id = 0;
  uint32_t host_id = 0;
  uint32_t size = 0;
};

// "0 1000 1\n..." as /proc/<pid>/uid_map expects it.
std::string format_id_map(const std::vector<IdMapping>& mappings);

// Writes uid_map, setgroups ("deny" only when asked) and gid_map of a child in a new user ns.
void write_id_maps(pid_t pid, const std::vector<IdMapping>& uid_map,
                   const std::vector<IdMapping>& gid_map, bool deny_setgroups);

}  // namespace hanok::isolate
