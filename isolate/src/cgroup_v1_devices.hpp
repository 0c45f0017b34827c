// Private to isolate/: the cgroup v1 devices controller as the kernel keeps it (a default and a
// list of exceptions), read back from devices.list, and the writes that take it from one state
// to another without a moment in which a device both states allow is denied.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "isolate/cgroup.hpp"

namespace hanok::isolate::cgroup::v1 {

struct DeviceState {
  bool default_allow = false;
  // (type 'c'/'b', major, minor; -1 is "*") -> access bits (r 1, w 2, m 4)
  std::map<std::tuple<char, int64_t, int64_t>, unsigned> exceptions;
  bool operator==(const DeviceState&) const = default;
};

// The state `rules` leave, written in order to a cgroup that denies everything (runc's).
DeviceState device_state_of(const std::vector<DeviceRule>& rules);
// devices.list: "a *:* rwm" (everything allowed), else one allowed exception per line.
DeviceState parse_devices_list(std::string_view text);

struct DeviceWrite {
  bool allow;        // to devices.allow, else devices.deny
  std::string rule;  // "c 1:3 rwm", or "a" to reset
};
// The writes from `current` (unknown: nullopt) to `target`. The default changes (or an unknown
// start) reset the list first; otherwise permissions are gained first and lost after.
std::vector<DeviceWrite> device_transition(const std::optional<DeviceState>& current,
                                           const DeviceState& target);

}  // namespace hanok::isolate::cgroup::v1
