#include "container_cgroup.hpp"

#include <algorithm>
#include <stdexcept>

#include "oci/resources.hpp"

namespace hanok::oci {

isolate::cgroup::Location cgroup_location_for(const Spec& spec, const std::string& id,
                                              bool systemd) {
  const std::string& wanted = spec.linux.cgroups_path;
  if (systemd) {
    std::string name = wanted.empty() ? "system.slice:hanok:" + id : wanted;
    if (std::count(name.begin(), name.end(), ':') != 2) {
      throw SpecError("linux.cgroupsPath: \"" + wanted +
                      "\" is not slice:prefix:name, which the systemd cgroup driver expects");
    }
    try {
      return {isolate::cgroup::systemd_cgroup_path(name), {}};
    } catch (const std::invalid_argument& e) {
      throw SpecError(e.what());
    }
  }
  if (wanted.find(':') != std::string::npos) {
    throw SpecError("linux.cgroupsPath: \"" + wanted +
                    "\" is a systemd name; use --systemd-cgroup or a cgroupfs path");
  }
  // As runc: no path is the relative path <id>; a relative path lives below the runtime's own
  // cgroup (v1) or its parent (v2), which nested and delegated setups rely on.
  try {
    return isolate::cgroup::locate_cgroup(wanted.empty() ? id : wanted);
  } catch (const std::invalid_argument& e) {
    throw SpecError(e.what());
  }
}

std::vector<isolate::cgroup::DeviceRule> device_rules_for(
    const std::vector<isolate::cgroup::DeviceRule>& configured, const Spec& spec) {
  // Whatever the config says or omits, the rules start from "deny everything" (as runc's).
  std::vector<isolate::cgroup::DeviceRule> rules = {{false, 'a', -1, -1, "rwm"}};
  rules.insert(rules.end(), configured.begin(), configured.end());
  struct Allowed {
    char type;
    int64_t major;
    int64_t minor;
    const char* access;
  };
  static constexpr Allowed kAllowed[] = {
      {'c', -1, -1, "m"}, {'b', -1, -1, "m"},    {'c', 1, 3, "rwm"}, {'c', 1, 8, "rwm"},
      {'c', 1, 7, "rwm"}, {'c', 5, 0, "rwm"},    {'c', 1, 5, "rwm"}, {'c', 1, 9, "rwm"},
      {'c', 5, 1, "rwm"}, {'c', 136, -1, "rwm"}, {'c', 5, 2, "rwm"}, {'c', 10, 200, "rwm"}};
  for (const auto& allowed : kAllowed) {
    rules.push_back({true, allowed.type, allowed.major, allowed.minor, allowed.access});
  }
  for (const auto& device : spec.linux.devices) {
    if (device.type == 'p') continue;
    char type = device.type == 'b' ? 'b' : 'c';
    rules.push_back({true, type, device.major, device.minor, "rwm"});
  }
  return rules;
}

isolate::cgroup::Resources container_resources(const Spec& spec) {
  isolate::cgroup::Resources resources = parse_resources(spec.linux.resources);
  resources.devices = device_rules_for(resources.devices, spec);
  return resources;
}

std::unique_ptr<isolate::cgroup::Cgroup> open_container_cgroup(const ContainerState& state) {
  if (state.cgroup.path.empty()) return nullptr;
  return isolate::cgroup::open_cgroup(state.cgroup);
}

}  // namespace hanok::oci
