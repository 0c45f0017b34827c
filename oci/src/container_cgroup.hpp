// Private to oci/: where a container's cgroup lives, and opening it again from its state.
#pragma once

#include <memory>
#include <string>

#include "isolate/cgroup.hpp"
#include "oci/spec.hpp"
#include "oci/state.hpp"

namespace hanok::oci {

// linux.cgroupsPath resolved: "slice:prefix:name" with the systemd driver, a path otherwise;
// when empty, "<id>" relative to the runtime's own cgroup (cgroupfs) or "system.slice:hanok:<id>"
// (systemd). The hierarchy root itself is refused.
isolate::cgroup::Location cgroup_location_for(const Spec& spec, const std::string& id,
                                              bool systemd);

// linux.resources typed, its device rules after a deny-all one and before the ones every
// container gets (null zero full random urandom tty ptmx pts console tun, mknod of any device) and
// an allow rule for each linux.devices entry: runc's rules, so that runc's configs work alike.
isolate::cgroup::Resources container_resources(const Spec& spec);
// Those device rules around `configured` ones.
std::vector<isolate::cgroup::DeviceRule> device_rules_for(
    const std::vector<isolate::cgroup::DeviceRule>& configured, const Spec& spec);

// nullptr when the container has no cgroup.
std::unique_ptr<isolate::cgroup::Cgroup> open_container_cgroup(const ContainerState& state);

}  // namespace hanok::oci
