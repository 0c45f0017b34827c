// Private to oci/: building the container's root filesystem inside its mount namespace.
#pragma once

#include "launch.hpp"

namespace hanok::oci::launch {

// Before pivot_root: mounts in order, /dev nodes and links. Runs in the new mount namespace.
void prepare_rootfs(const Plan& plan);
// Switches root (pivot_root, or chroot with --no-pivot).
void enter_rootfs(const Plan& plan);
// After pivot_root: masked paths, read-only paths, read-only root, root propagation.
void finish_rootfs(const Spec& spec);

}  // namespace hanok::oci::launch
