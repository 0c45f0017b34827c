// Private to cri/: what a container holds besides its record (its OCI runtime state, its rootfs
// mount and writable layer, its lease on the image's layers, its bundle and exit file), released
// in one place for RemoveContainer, a failed CreateContainer and the orphans of a crash.
#pragma once

#include <string>

#include "runtime_core.hpp"

namespace hanok::cri {

// The pin of a TARGET container's PID namespace in the bundle.
inline constexpr const char* kTargetPidNamespace = "target-pid-ns";

// The lease a container holds on its image's snapshots.
std::string container_lease(const std::string& id);

// Deletes the container from the OCI runtime (killing what is left), unmounts and removes its
// rootfs, releases its lease, removes its bundle and exit file. Missing pieces are fine; errors
// are logged and the rest still goes.
void release_container_resources(RuntimeCore& core, const std::string& id);

}  // namespace hanok::cri
