// POSIX resource limits by their OCI names.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace hanok::isolate {

struct Rlimit {
  int resource = 0;  // RLIMIT_*
  uint64_t soft = 0;
  uint64_t hard = 0;
};

// "RLIMIT_NOFILE" -> RLIMIT_NOFILE.
std::optional<int> rlimit_from_name(std::string_view name);

// Applies each limit. Without CAP_SYS_RESOURCE a hard limit cannot be raised: such a limit is
// clamped to the current hard limit and reported through `warn` rather than failing.
void apply_rlimits(const std::vector<Rlimit>& limits, void (*warn)(const char* message));

}  // namespace hanok::isolate
