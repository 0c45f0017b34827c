// Mount operations for building a container's root: mounts onto fds resolved inside the root,
// mount attributes (mount_setattr), pivot_root, masked and read-only paths.
#pragma once

#include <string>

#include "isolate/mount_options.hpp"

namespace hanok::isolate {

// mount(2) onto the object `target_fd` refers to (through /proc/self/fd). `shown_target` names
// it in errors.
void mount_onto_fd(const std::string& source, int target_fd, const std::string& type,
                   unsigned long flags, const std::string& data, const std::string& shown_target);

// Applies read-only/nosuid/nodev/noexec/atime attributes of `options` to the mount whose root
// `mount_fd` is (an fd opened after the mount), recursively when asked.
void set_mount_attributes(int mount_fd, const MountOptions& options, bool recursive,
                          const std::string& shown_target);
// Propagation (MS_SHARED, MS_SLAVE, ... | MS_REC) of the mount at `path`.
void set_propagation(const std::string& path, unsigned long propagation);

// pivot_root into `rootfs` and detach the old root; afterwards "/" is the rootfs.
void pivot_into(const std::string& rootfs);
// --no-pivot: move the rootfs over "/" and chroot into it.
void move_and_chroot_into(const std::string& rootfs);

// maskedPaths: a directory gets an empty read-only tmpfs, anything else /dev/null. Paths that do
// not exist are skipped. Runs after pivot_into.
void mask_path(const std::string& path);
// readonlyPaths: bind the path over itself, read-only recursively. Missing paths are skipped.
void make_path_readonly(const std::string& path);
// root.readonly: the root mount itself (not the mounts below it) becomes read-only.
void make_root_readonly();

}  // namespace hanok::isolate
