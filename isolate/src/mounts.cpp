#include "isolate/mounts.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "isolate/error.hpp"
#include "isolate/in_root.hpp"
#include "isolate/text.hpp"

#include <vector>

namespace hanok::isolate {

namespace {
struct AttrChange {
  uint64_t set = 0;
  uint64_t clear = 0;
};

AttrChange attributes_of(unsigned long flags, unsigned long clear_flags) {
  struct FlagAttr {
    unsigned long flag;
    uint64_t attr;
  };
  static constexpr FlagAttr kPlain[] = {
      {MS_RDONLY, MOUNT_ATTR_RDONLY},         {MS_NOSUID, MOUNT_ATTR_NOSUID},
      {MS_NODEV, MOUNT_ATTR_NODEV},           {MS_NOEXEC, MOUNT_ATTR_NOEXEC},
      {MS_NODIRATIME, MOUNT_ATTR_NODIRATIME}, {MS_NOSYMFOLLOW, MOUNT_ATTR_NOSYMFOLLOW}};
  AttrChange change;
  for (const auto& entry : kPlain) {
    if (flags & entry.flag) change.set |= entry.attr;
    if (clear_flags & entry.flag) change.clear |= entry.attr;
  }
  if (flags & MS_NOATIME) {
    change.clear |= MOUNT_ATTR__ATIME;
    change.set |= MOUNT_ATTR_NOATIME;
  } else if (flags & MS_STRICTATIME) {
    change.clear |= MOUNT_ATTR__ATIME;
    change.set |= MOUNT_ATTR_STRICTATIME;
  } else if (flags & MS_RELATIME) {
    change.clear |= MOUNT_ATTR__ATIME;
    change.set |= MOUNT_ATTR_RELATIME;
  }
  return change;
}

// The kernel's own words about a failed fsconfig (what `dmesg` would say), read from the
// filesystem context: "e tmpfs: Bad value for 'size'" -> "tmpfs: Bad value for 'size'".
std::string kernel_messages(int fs_fd) {
  std::string messages;
  char buffer[1024];
  for (;;) {
    ssize_t n = ::read(fs_fd, buffer, sizeof buffer - 1);
    if (n <= 0) break;
    std::string_view line(buffer, static_cast<size_t>(n));
    if (line.size() > 2 && line[1] == ' ') line.remove_prefix(2);
    if (!messages.empty()) messages += "; ";
    messages += trim(line);
  }
  return messages;
}

// "a=1,context=\"x:y:c1,c2\",b" -> a=1, context="x:y:c1,c2", b: commas inside double quotes
// (SELinux contexts) do not split.
std::vector<std::string> split_options(const std::string& data) {
  std::vector<std::string> options;
  std::string current;
  bool quoted = false;
  for (char c : data) {
    if (c == '"') quoted = !quoted;
    if (c == ',' && !quoted) {
      if (!current.empty()) options.push_back(std::move(current));
      current.clear();
    } else {
      current += c;
    }
  }
  if (!current.empty()) options.push_back(std::move(current));
  return options;
}

[[noreturn]] void fail_fs(int fs_fd, const std::string& what, const std::string& shown_target) {
  int err = errno;
  std::string detail = kernel_messages(fs_fd);
  throw SysError(what + " for", shown_target + (detail.empty() ? "" : " (" + detail + ")"), err);
}

void set_string(int fs_fd, const std::string& key, const std::string& value,
                const std::string& type, const std::string& shown_target) {
  if (::fsconfig(fs_fd, FSCONFIG_SET_STRING, key.c_str(), value.c_str(), 0) != 0) {
    fail_fs(fs_fd, type + " option " + key + "=" + value, shown_target);
  }
}

void set_flag(int fs_fd, const std::string& key, const std::string& type,
              const std::string& shown_target) {
  if (::fsconfig(fs_fd, FSCONFIG_SET_FLAG, key.c_str(), nullptr, 0) != 0) {
    fail_fs(fs_fd, type + " option " + key, shown_target);
  }
}
}  // namespace

UniqueFd clone_mount(int dir_fd, const std::string& path, bool recursive,
                     const std::string& shown_source) {
  unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0) |
                   (path.empty() ? AT_EMPTY_PATH : 0);
  UniqueFd tree(::open_tree(dir_fd, path.c_str(), flags));
  if (!tree) throw_sys("bind mount: copy the mount of", shown_source);
  return tree;
}

UniqueFd new_filesystem(const std::string& type, const std::string& source, unsigned long flags,
                        const std::string& data, const std::string& shown_target) {
  UniqueFd fs(::fsopen(type.c_str(), FSOPEN_CLOEXEC));
  if (!fs) throw_sys("open a " + type + " filesystem for", shown_target);
  if (!source.empty()) set_string(fs.get(), "source", source, type, shown_target);
  for (const std::string& option : split_options(data)) {
    size_t equals = option.find('=');
    if (equals == std::string::npos) {
      set_flag(fs.get(), option, type, shown_target);
    } else {
      set_string(fs.get(), option.substr(0, equals), option.substr(equals + 1), type, shown_target);
    }
  }
  // Superblock flags that mount(2) takes as MS_* flags are fsconfig flags here; "ro" as mount(2)
  // makes it: the file system read-only, not only this mount of it.
  struct SuperblockFlag {
    unsigned long flag;
    const char* name;
  };
  static constexpr SuperblockFlag kSuperblockFlags[] = {{MS_RDONLY, "ro"},
                                                        {MS_SYNCHRONOUS, "sync"},
                                                        {MS_DIRSYNC, "dirsync"},
                                                        {MS_LAZYTIME, "lazytime"},
                                                        {MS_MANDLOCK, "mand"}};
  for (const auto& entry : kSuperblockFlags) {
    if (flags & entry.flag) set_flag(fs.get(), entry.name, type, shown_target);
  }
  if (::fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0) {
    fail_fs(fs.get(), "mount " + type, shown_target);
  }
  AttrChange attrs = attributes_of(flags, 0);
  UniqueFd mount(::fsmount(fs.get(), FSMOUNT_CLOEXEC, static_cast<unsigned>(attrs.set)));
  if (!mount) fail_fs(fs.get(), "mount " + type, shown_target);
  return mount;
}

void mount_filesystem_onto(int target_fd, const std::string& type, const std::string& source,
                           unsigned long flags, const std::string& data,
                           const std::string& shown_target) {
  std::string target = fd_path(target_fd);
  if (::mount(source.c_str(), target.c_str(), type.c_str(), flags,
              data.empty() ? nullptr : data.c_str()) != 0) {
    throw_sys("mount " + type + " on", shown_target);
  }
}

void attach_mount(int mount_fd, int target_fd, const std::string& shown_target) {
  if (::move_mount(mount_fd, "", target_fd, "",
                   MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0) {
    throw_sys("attach the mount on", shown_target);
  }
}

void set_mount_attributes(int mount_fd, const MountOptions& options, bool recursive,
                          const std::string& shown_target) {
  AttrChange change = attributes_of(options.flags, options.clear_flags);
  if (change.set == 0 && change.clear == 0) return;
  mount_attr attr{};
  attr.attr_set = change.set;
  attr.attr_clr = change.clear;
  unsigned flags = AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0);
  if (::mount_setattr(mount_fd, "", flags, &attr, sizeof attr) != 0) {
    throw_sys("set mount attributes of", shown_target);
  }
}

void set_propagation(int mount_fd, unsigned long propagation, const std::string& shown_target) {
  if (propagation == 0) return;
  mount_attr attr{};
  attr.propagation = propagation & ~static_cast<unsigned long>(MS_REC);
  unsigned flags = AT_EMPTY_PATH | ((propagation & MS_REC) ? AT_RECURSIVE : 0);
  if (::mount_setattr(mount_fd, "", flags, &attr, sizeof attr) != 0) {
    throw_sys("set mount propagation of", shown_target);
  }
}

void attach_bind(int tree_fd, int target_fd, const MountOptions& options, bool recursive,
                 const std::string& shown_target) {
  set_mount_attributes(tree_fd, options, recursive, shown_target);
  attach_mount(tree_fd, target_fd, shown_target);
  set_propagation(tree_fd, options.propagation, shown_target);
}

void bind_onto(const std::string& source, int target_fd, const MountOptions& options,
               bool recursive, const std::string& shown_target) {
  UniqueFd tree = clone_mount(AT_FDCWD, source, recursive, source);
  attach_bind(tree.get(), target_fd, options, recursive, shown_target);
}

UniqueFd mount_root_of(int fd) {
  auto mount_id = [](int dir_fd) -> uint64_t {
    struct statx st {};
    if (::statx(dir_fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_MNT_ID, &st) != 0) {
      throw_sys("statx", "mount id");
    }
    return st.stx_mnt_id;
  };
  UniqueFd current(::fcntl(fd, F_DUPFD_CLOEXEC, 3));
  if (!current) throw_sys("dup", "mount root");
  uint64_t id = mount_id(current.get());
  for (int depth = 0; depth < 4096; ++depth) {
    UniqueFd parent(::openat(current.get(), "..", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!parent) throw_sys("open", "..");
    struct stat here {
    }, up{};
    if (::fstat(current.get(), &here) != 0 || ::fstat(parent.get(), &up) != 0) {
      throw_sys("stat", "mount root");
    }
    bool at_root = here.st_dev == up.st_dev && here.st_ino == up.st_ino;
    if (at_root || mount_id(parent.get()) != id) return current;
    current = std::move(parent);
  }
  throw_sys("find the mount root", "", ELOOP);
}

void pivot_into(int root_fd) {
  UniqueFd old_root(::open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC));
  if (!old_root) throw_sys("open", "/");
  if (::fchdir(root_fd) != 0) throw_sys("chdir into", "the rootfs");
  // pivot_root(".", ".") stacks the old root on top of the new one; detach it from there.
  if (::syscall(SYS_pivot_root, ".", ".") != 0) throw_sys("pivot_root into", "the rootfs");
  if (::fchdir(old_root.get()) != 0) throw_sys("chdir", "old root");
  if (::mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr) != 0) {
    throw_sys("make the old root a slave", ".");
  }
  if (::umount2(".", MNT_DETACH) != 0) throw_sys("detach the old root", ".");
  if (::chdir("/") != 0) throw_sys("chdir", "/");
}

void move_and_chroot_into(int root_fd) {
  if (::fchdir(root_fd) != 0) throw_sys("chdir into", "the rootfs");
  if (::mount(".", "/", nullptr, MS_MOVE, nullptr) != 0) throw_sys("move the rootfs over", "/");
  if (::chroot(".") != 0) throw_sys("chroot", "the rootfs");
  if (::chdir("/") != 0) throw_sys("chdir", "/");
}

NullDevice NullDevice::open_host() {
  UniqueFd node(::open("/dev/null", O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (!node) throw_sys("open", "/dev/null");
  struct stat st {};
  if (::fstat(node.get(), &st) != 0) throw_sys("stat", "/dev/null");
  if (!S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3)) {
    throw SysError("/dev/null is not the character device 1:3; refusing to bind it", "", EPERM);
  }
  NullDevice device;
  device.tree_ = clone_mount(node.get(), "", false, "/dev/null");
  return device;
}

void NullDevice::bind_over(int target_fd, const std::string& shown_target) {
  if (!attached_) {
    attach_mount(tree_.get(), target_fd, shown_target);
    attached_ = true;
    return;
  }
  // The first bind lives in this mount namespace now: copy it for every further one.
  UniqueFd copy = clone_mount(tree_.get(), "", false, "/dev/null");
  attach_mount(copy.get(), target_fd, shown_target);
}

namespace {
UniqueFd open_root() {
  UniqueFd root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) throw_sys("open", "/");
  return root;
}

// The object at `path` inside `root_fd`, or an invalid fd when there is none.
UniqueFd open_existing(int root_fd, const std::string& path, int flags) {
  try {
    return open_in_root(root_fd, path, flags);
  } catch (const SysError& e) {
    if (e.error_code() == ENOENT) return UniqueFd();
    throw;
  }
}
}  // namespace

void mask_path(int root_fd, const std::string& path, NullDevice& null_device) {
  UniqueFd target = open_existing(root_fd, path, O_PATH | O_NOFOLLOW);
  if (!target) return;
  struct stat st {};
  if (::fstat(target.get(), &st) != 0) throw_sys("stat", path);
  if (S_ISDIR(st.st_mode)) {
    UniqueFd empty = new_filesystem("tmpfs", "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                                    "size=0", path);
    attach_mount(empty.get(), target.get(), path);
  } else {
    null_device.bind_over(target.get(), path);
  }
}

void make_path_readonly(int root_fd, const std::string& path) {
  UniqueFd target = open_existing(root_fd, path, O_PATH);
  if (!target) return;
  UniqueFd tree = clone_mount(target.get(), "", true, path);
  MountOptions readonly;
  readonly.flags = MS_RDONLY;
  set_mount_attributes(tree.get(), readonly, true, path);
  attach_mount(tree.get(), target.get(), path);
}

void make_root_readonly() {
  UniqueFd root = open_root();
  MountOptions readonly;
  readonly.flags = MS_RDONLY;
  set_mount_attributes(root.get(), readonly, false, "/");
}

}  // namespace hanok::isolate
