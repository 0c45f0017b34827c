// Private to cri/: what a pod's or a container's config asks for that hanok does not do. Each is
// refused with INVALID_ARGUMENT naming the field, never dropped: a protection asked for and not
// given must not look given (and Status tells the kubelet what is served, so that it refuses
// such pods before they get here).
#pragma once

#include "runtime_v1.pb.h"

namespace hanok::cri {

// Throws isolate::Error(Invalid) naming the first field ("config.<path>: ...") that asks for a
// user namespace, an SELinux label, or an AppArmor profile.
void refuse_unserved(const runtime::v1::PodSandboxConfig& config);
// The same for a container; also image volumes, CDI devices, idmapped, recursively read-only and
// option-carrying mounts, mounts at or below /proc, and propagation the host path's mount
// cannot give.
void refuse_unserved(const runtime::v1::ContainerConfig& config);

}  // namespace hanok::cri
