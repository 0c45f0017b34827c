// Private: cgroup v2 has no devices controller; device access is a BPF_PROG_TYPE_CGROUP_DEVICE
// program attached to the cgroup. This builds one from OCI device rules and attaches it.
#pragma once

#include <linux/bpf.h>

#include <string>
#include <vector>

#include "isolate/cgroup.hpp"

namespace hanok::isolate::cgroup {

// The name our programs carry (bpf_prog_info.name), so that a re-apply replaces only ours.
inline constexpr char kDeviceProgramName[] = "hanok_devices";

// The rules are read as the v1 devices controller (and runc) reads them: a type 'a' rule
// resets everything (deny-all: default deny; allow-all: default allow); after it, for each
// access bit asked for (m, r, w), the LAST rule that matches the type, major, minor and that
// bit decides. Every bit asked for must be allowed. With no 'a' rule the default is deny.
// Throws std::invalid_argument naming linux.resources.devices[i] for an invalid rule.
std::vector<bpf_insn> build_device_program(const std::vector<DeviceRule>& rules);

// Loads `program`, attaches it to the cgroup directory `dir_fd` (an O_RDONLY fd) with
// BPF_F_ALLOW_MULTI, then detaches the device programs of ours that were attached there
// before. `where` names the cgroup in errors.
void attach_device_program(int dir_fd, const std::vector<bpf_insn>& program,
                           const std::string& where);

}  // namespace hanok::isolate::cgroup
