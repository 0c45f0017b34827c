// Private to oci/: building the container's root filesystem inside its mount namespace.
#pragma once

#include <optional>

#include "isolate/mounts.hpp"
#include "isolate/sysctl.hpp"
#include "isolate/unique_fd.hpp"
#include "launch.hpp"

namespace hanok::oci::launch {

// What prepare_rootfs hands on to the steps after it.
struct Rootfs {
  isolate::UniqueFd root;  // the rootfs mount (a recursive bind of root.path onto itself)
  std::optional<isolate::NullDevice> null_device;  // the host's /dev/null, when paths are masked
  std::optional<isolate::PrivateProcfs> procfs;    // where linux.sysctl is written, when it is set
};

// Before pivot_root: mounts in order, /dev nodes and links. Runs in the new mount namespace.
Rootfs prepare_rootfs(const Plan& plan);
// Switches root (pivot_root, or chroot with --no-pivot).
void enter_rootfs(const Plan& plan, const Rootfs& rootfs);
// After pivot_root: masked paths, read-only paths, read-only root, root propagation; then
// linux.sysctl, through the private procfs, when every mount is in place.
void finish_rootfs(const Spec& spec, Rootfs& rootfs);

}  // namespace hanok::oci::launch
