#include "container_cgroup.hpp"

#include <algorithm>
#include <stdexcept>

#include "oci/resources.hpp"

namespace hanok::oci {

std::string cgroup_path_for(const Spec& spec, const std::string& id, bool systemd) {
  const std::string& wanted = spec.linux.cgroups_path;
  if (systemd) {
    std::string name = wanted.empty() ? "system.slice:hanok:" + id : wanted;
    if (std::count(name.begin(), name.end(), ':') != 2) {
      throw SpecError("linux.cgroupsPath: \"" + wanted +
                      "\" is not slice:prefix:name, which the systemd cgroup driver expects");
    }
    try {
      return isolate::cgroup::systemd_cgroup_path(name);
    } catch (const std::invalid_argument& e) {
      throw SpecError(e.what());
    }
  }
  // Flat, as runc names its default: nothing stays behind once the container is deleted.
  if (wanted.empty()) return "/hanok-" + id;
  if (wanted.find(':') != std::string::npos) {
    throw SpecError("linux.cgroupsPath: \"" + wanted +
                    "\" is a systemd name; use --systemd-cgroup or a cgroupfs path");
  }
  // Relative paths are taken from the hierarchy root, like absolute ones.
  return wanted[0] == '/' ? wanted : "/" + wanted;
}

isolate::cgroup::Resources container_resources(const Spec& spec) {
  isolate::cgroup::Resources resources = parse_resources(spec.linux.resources);
  if (resources.devices.empty()) return resources;  // no device rules: nothing is restricted
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
    resources.devices.push_back({true, allowed.type, allowed.major, allowed.minor, allowed.access});
  }
  for (const auto& device : spec.linux.devices) {
    if (device.type == 'p') continue;
    char type = device.type == 'b' ? 'b' : 'c';
    resources.devices.push_back({true, type, device.major, device.minor, "rwm"});
  }
  return resources;
}

std::unique_ptr<isolate::cgroup::Cgroup> open_container_cgroup(const ContainerState& state) {
  if (state.cgroup_path.empty()) return nullptr;
  return isolate::cgroup::open_cgroup(state.cgroup_path);
}

}  // namespace hanok::oci
