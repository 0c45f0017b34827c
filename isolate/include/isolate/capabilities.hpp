// Linux capabilities by name, and applying the five sets to the current process (libcap).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hanok::isolate {

struct CapabilitySets {
  std::vector<int> bounding;
  std::vector<int> effective;
  std::vector<int> permitted;
  std::vector<int> inheritable;
  std::vector<int> ambient;
};

// "CAP_CHOWN" -> 0. Names libcap does not know give nullopt.
std::optional<int> capability_from_name(std::string_view name);
// 0 -> "CAP_CHOWN".
std::string capability_name(int cap);
// Every capability name this build knows, in number order.
std::vector<std::string> known_capability_names();
// The highest capability number the running kernel supports.
int last_supported_capability();

// Drops every capability not in `sets.bounding` from the bounding set (needs CAP_SETPCAP).
void drop_bounding_set(const CapabilitySets& sets);
// Sets effective, permitted and inheritable, then raises the ambient ones. Capabilities above
// last_supported_capability() are skipped.
void apply_capability_sets(const CapabilitySets& sets);

}  // namespace hanok::isolate
