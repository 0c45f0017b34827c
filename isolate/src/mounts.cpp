#include "isolate/mounts.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "isolate/error.hpp"
#include "isolate/in_root.hpp"
#include "isolate/unique_fd.hpp"

namespace hanok::isolate {

void mount_onto_fd(const std::string& source, int target_fd, const std::string& type,
                   unsigned long flags, const std::string& data, const std::string& shown_target) {
  std::string target = fd_path(target_fd);
  if (::mount(source.empty() ? nullptr : source.c_str(), target.c_str(),
              type.empty() ? nullptr : type.c_str(), flags,
              data.empty() ? nullptr : data.c_str()) != 0) {
    throw_sys("mount " + (type.empty() ? std::string("bind ") + source : type) + " on",
              shown_target);
  }
}

namespace {
struct AttrChange {
  uint64_t set = 0;
  uint64_t clear = 0;
};

AttrChange attributes_of(const MountOptions& options) {
  struct FlagAttr {
    unsigned long flag;
    uint64_t attr;
  };
  static constexpr FlagAttr kPlain[] = {{MS_RDONLY, MOUNT_ATTR_RDONLY},
                                        {MS_NOSUID, MOUNT_ATTR_NOSUID},
                                        {MS_NODEV, MOUNT_ATTR_NODEV},
                                        {MS_NOEXEC, MOUNT_ATTR_NOEXEC},
                                        {MS_NODIRATIME, MOUNT_ATTR_NODIRATIME}};
  AttrChange change;
  for (const auto& entry : kPlain) {
    if (options.flags & entry.flag) change.set |= entry.attr;
    if (options.clear_flags & entry.flag) change.clear |= entry.attr;
  }
  if (options.flags & MS_NOATIME) {
    change.clear |= MOUNT_ATTR__ATIME;
    change.set |= MOUNT_ATTR_NOATIME;
  } else if (options.flags & MS_STRICTATIME) {
    change.clear |= MOUNT_ATTR__ATIME;
    change.set |= MOUNT_ATTR_STRICTATIME;
  } else if (options.flags & MS_RELATIME) {
    change.clear |= MOUNT_ATTR__ATIME;
    change.set |= MOUNT_ATTR_RELATIME;
  }
  return change;
}
}  // namespace

void set_mount_attributes(int mount_fd, const MountOptions& options, bool recursive,
                          const std::string& shown_target) {
  AttrChange change = attributes_of(options);
  if (change.set == 0 && change.clear == 0) return;
  mount_attr attr{};
  attr.attr_set = change.set;
  attr.attr_clr = change.clear;
  unsigned flags = AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0);
  if (::mount_setattr(mount_fd, "", flags, &attr, sizeof attr) != 0) {
    throw_sys("set mount attributes of", shown_target);
  }
}

void set_propagation(const std::string& path, unsigned long propagation) {
  if (propagation == 0) return;
  if (::mount(nullptr, path.c_str(), nullptr, propagation, nullptr) != 0) {
    throw_sys("set mount propagation of", path);
  }
}

void pivot_into(const std::string& rootfs) {
  UniqueFd old_root(::open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC));
  if (!old_root) throw_sys("open", "/");
  UniqueFd new_root(::open(rootfs.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
  if (!new_root) throw_sys("open", rootfs);
  if (::fchdir(new_root.get()) != 0) throw_sys("chdir", rootfs);
  // pivot_root(".", ".") stacks the old root on top of the new one; detach it from there.
  if (::syscall(SYS_pivot_root, ".", ".") != 0) throw_sys("pivot_root into", rootfs);
  if (::fchdir(old_root.get()) != 0) throw_sys("chdir", "old root");
  if (::mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr) != 0) {
    throw_sys("make the old root a slave", ".");
  }
  if (::umount2(".", MNT_DETACH) != 0) throw_sys("detach the old root", ".");
  if (::chdir("/") != 0) throw_sys("chdir", "/");
}

void move_and_chroot_into(const std::string& rootfs) {
  if (::chdir(rootfs.c_str()) != 0) throw_sys("chdir", rootfs);
  if (::mount(rootfs.c_str(), "/", nullptr, MS_MOVE, nullptr) != 0) {
    throw_sys("move the rootfs over", "/");
  }
  if (::chroot(".") != 0) throw_sys("chroot", rootfs);
  if (::chdir("/") != 0) throw_sys("chdir", "/");
}

void mask_path(const std::string& path) {
  UniqueFd root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) throw_sys("open", "/");
  UniqueFd target;
  try {
    target = open_in_root(root.get(), path, O_PATH | O_NOFOLLOW);
  } catch (const SysError& e) {
    if (e.error_code() == ENOENT) return;
    throw;
  }
  struct stat st {};
  if (::fstat(target.get(), &st) != 0) throw_sys("stat", path);
  if (S_ISDIR(st.st_mode)) {
    mount_onto_fd("tmpfs", target.get(), "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                  "size=0", path);
  } else {
    mount_onto_fd("/dev/null", target.get(), "", MS_BIND, "", path);
  }
}

void make_path_readonly(const std::string& path) {
  UniqueFd root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) throw_sys("open", "/");
  UniqueFd target;
  try {
    target = open_in_root(root.get(), path, O_PATH);
  } catch (const SysError& e) {
    if (e.error_code() == ENOENT) return;
    throw;
  }
  mount_onto_fd(fd_path(target.get()), target.get(), "", MS_BIND | MS_REC, "", path);
  UniqueFd mounted = open_in_root(root.get(), path, O_PATH);
  MountOptions readonly;
  readonly.flags = MS_RDONLY;
  set_mount_attributes(mounted.get(), readonly, true, path);
}

void make_root_readonly() {
  UniqueFd root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) throw_sys("open", "/");
  MountOptions readonly;
  readonly.flags = MS_RDONLY;
  set_mount_attributes(root.get(), readonly, false, "/");
}

}  // namespace hanok::isolate
