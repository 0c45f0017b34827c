// Mount operations for building a container's root with the new mount API: every mount is made
// as a detached tree (open_tree/fsmount), given its attributes while nothing can see it, and
// attached (move_mount) onto an fd resolved inside the root. Nothing is looked up by path again
// after a mount, so a symlink swapped in meanwhile cannot redirect an attribute or a mount.
#pragma once

#include <string>

#include "isolate/mount_options.hpp"
#include "isolate/unique_fd.hpp"

namespace hanok::isolate {

// A detached copy (open_tree OPEN_TREE_CLONE) of the mount at `path` below `dir_fd` (path ""
// means `dir_fd` itself), with its submounts when `recursive`.
UniqueFd clone_mount(int dir_fd, const std::string& path, bool recursive,
                     const std::string& shown_source);
// A new instance of filesystem `type` (fsopen/fsconfig/fsmount) as a detached mount: `data`
// (comma separated, "key=value" or "flag") configures the superblock, `flags` (MS_RDONLY,
// MS_NOSUID, ...) become mount attributes. Errors carry the kernel's own message.
UniqueFd new_filesystem(const std::string& type, const std::string& source, unsigned long flags,
                        const std::string& data, const std::string& shown_target);
// A new instance of filesystem `type` mounted with mount(2) onto the object `target_fd` refers to
// (through /proc/self/fd, never a path looked up again): one system call, `flags` and `data`
// applied as it is made. For mounts whose propagation stays as it is (changing that needs an fd
// of the new mount: new_filesystem).
void mount_filesystem_onto(int target_fd, const std::string& type, const std::string& source,
                           unsigned long flags, const std::string& data,
                           const std::string& shown_target);
// Attaches a detached mount (from clone_mount or new_filesystem) onto the object `target_fd`
// refers to. Afterwards `mount_fd` refers to the attached mount.
void attach_mount(int mount_fd, int target_fd, const std::string& shown_target);

// Applies read-only/nosuid/nodev/noexec/atime attributes of `options` to the mount `mount_fd`
// is the root of (detached or attached), recursively when asked.
void set_mount_attributes(int mount_fd, const MountOptions& options, bool recursive,
                          const std::string& shown_target);
// Propagation (MS_SHARED, MS_SLAVE, MS_PRIVATE, MS_UNBINDABLE, | MS_REC) of an attached mount.
void set_propagation(int mount_fd, unsigned long propagation, const std::string& shown_target);

// A bind from a detached copy (clone_mount): attributes, attach, propagation.
void attach_bind(int tree_fd, int target_fd, const MountOptions& options, bool recursive,
                 const std::string& shown_target);
// bind mount of `source` (a host path) onto `target_fd`: clone_mount, then attach_bind.
void bind_onto(const std::string& source, int target_fd, const MountOptions& options,
               bool recursive, const std::string& shown_target);

// The root of the mount `fd` (a directory) is on, found by walking ".." until the mount changes.
UniqueFd mount_root_of(int fd);

// runc's rule for a mount at or below /proc (`destination` clean and absolute, as the container
// sees it): /proc itself takes only a procfs (a new one, or a bind of one); below it only the
// files LXCFS covers may be. Returns "" when allowed, else why not.
std::string proc_mount_problem(const std::string& destination, bool bind, const std::string& type);
// At mount time, whatever the destination's name says: a mount whose target (resolved inside
// the root, symlinks followed) lies on a procfs is refused unless `destination` is /proc itself
// or one of the files proc_mount_problem allows, reached without a symlink. Throws
// std::runtime_error.
void refuse_procfs_target(int root_fd, int target_fd, const std::string& destination);

// pivot_root into the directory `root_fd` and detach the old root; afterwards "/" is the rootfs.
void pivot_into(int root_fd);
// --no-pivot: move the rootfs mount over "/" and chroot into it.
void move_and_chroot_into(int root_fd);

// The host's /dev/null, checked to be the character device 1:3 (not whatever an image put at
// that path), as the source of the binds that mask files. Opened before pivot_root.
class NullDevice {
 public:
  static NullDevice open_host();
  // Binds it over the file `target_fd` refers to.
  void bind_over(int target_fd, const std::string& shown_target);

 private:
  UniqueFd tree_;  // a detached copy until the first bind; that attached mount afterwards
  bool attached_ = false;
};

// maskedPaths: a directory gets an empty read-only tmpfs, anything else /dev/null. Paths that do
// not exist are skipped. Runs after pivot_into; `root_fd` is "/".
void mask_path(int root_fd, const std::string& path, NullDevice& null_device);
// readonlyPaths: bind the path over itself, read-only recursively. Missing paths are skipped.
void make_path_readonly(int root_fd, const std::string& path);
// root.readonly: the root mount itself (not the mounts below it) becomes read-only.
void make_root_readonly();

}  // namespace hanok::isolate
