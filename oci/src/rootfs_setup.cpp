#include "rootfs_setup.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <stdexcept>

#include "isolate/error.hpp"
#include "isolate/in_root.hpp"
#include "isolate/mounts.hpp"
#include "isolate/text.hpp"

namespace hanok::oci::launch {

namespace {
using isolate::NodeKind;
using isolate::UniqueFd;

// Where a mount goes: `destination` resolved (and made) inside the root, never a file of a
// procfs the name does not say (a symlink or a volume leading into /proc).
UniqueFd mount_target(int root_fd, const std::string& destination, NodeKind kind) {
  UniqueFd target = isolate::ensure_in_root(root_fd, destination, kind);
  isolate::refuse_procfs_target(root_fd, target.get(), destination);
  return target;
}

// A bind mount of `source` (a host path) onto `destination` inside the root.
void bind_mount(int root_fd, const std::string& source, const std::string& destination,
                const isolate::MountOptions& options, bool recursive) {
  // The copy first: whether the target is a directory or a file is what was copied.
  UniqueFd tree = isolate::clone_mount(AT_FDCWD, source, recursive, source);
  struct stat st {};
  if (::fstat(tree.get(), &st) != 0) isolate::throw_sys("bind mount source", source);
  if (isolate::clean_absolute_path(destination) == "/proc") {
    struct statfs fs {};
    if (::fstatfs(tree.get(), &fs) != 0 || fs.f_type != PROC_SUPER_MAGIC) {
      throw std::runtime_error("\"/proc\" cannot be mounted because it is not of type proc");
    }
  }
  UniqueFd target = mount_target(root_fd, destination,
                                 S_ISDIR(st.st_mode) ? NodeKind::Directory : NodeKind::File);
  isolate::attach_bind(tree.get(), target.get(), options, recursive, destination);
}

void filesystem_mount(int root_fd, const Mount& mount, const std::string& type) {
  UniqueFd target = mount_target(root_fd, mount.destination, NodeKind::Directory);
  std::string source = mount.source.empty() ? type : mount.source;
  unsigned long flags = mount.parsed.flags & ~(MS_BIND | MS_REC);
  if (mount.parsed.propagation == 0) {
    isolate::mount_filesystem_onto(target.get(), type, source, flags, mount.parsed.data,
                                   mount.destination);
    return;
  }
  UniqueFd filesystem =
      isolate::new_filesystem(type, source, flags, mount.parsed.data, mount.destination);
  isolate::attach_mount(filesystem.get(), target.get(), mount.destination);
  isolate::set_propagation(filesystem.get(), mount.parsed.propagation, mount.destination);
}

// The container's cgroup as runc shows it, whatever the mount's type says: on a cgroup v2 host a
// cgroup2 mount inside the container's cgroup namespace (or, without one, a bind of its own
// cgroup only); on a v1 or hybrid host a tmpfs holding a bind of the container's own cgroup in
// each hierarchy ("memory", "cpu,cpuacct" with "cpu" and "cpuacct" links). Never the host's tree.
void cgroup_mount(const Plan& plan, int root_fd, const Mount& mount) {
  const std::string& destination = mount.destination;
  if (plan.cgroup_hierarchies.empty()) {
    throw std::runtime_error("the container has no cgroup to mount");
  }
  if (plan.cgroup_mode == isolate::cgroup::Mode::Unified) {
    if (plan.new_cgroup_namespace) {
      Mount cgroup2 = mount;
      cgroup2.source = "cgroup";
      filesystem_mount(root_fd, cgroup2, "cgroup2");
    } else {
      bind_mount(root_fd, plan.cgroup_hierarchies.front().dir, destination, mount.parsed, false);
    }
    return;
  }
  UniqueFd target = mount_target(root_fd, destination, NodeKind::Directory);
  UniqueFd tmpfs = isolate::new_filesystem("tmpfs", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                                           "mode=755", destination);
  isolate::attach_mount(tmpfs.get(), target.get(), destination);
  isolate::MountOptions bind_options = mount.parsed;
  bind_options.propagation = 0;
  for (const auto& hierarchy : plan.cgroup_hierarchies) {
    const std::string& name = hierarchy.name;
    std::string shown = isolate::join_path(destination, name);
    if (::mkdirat(tmpfs.get(), name.c_str(), 0755) != 0) isolate::throw_sys("mkdir", shown);
    UniqueFd dir(
        ::openat(tmpfs.get(), name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!dir) isolate::throw_sys("open", shown);
    isolate::bind_onto(hierarchy.dir, dir.get(), bind_options, false, shown);
    if (name.find(',') == std::string::npos) continue;
    for (std::string_view controller : isolate::split(name, ",")) {
      std::string link(controller);
      if (::symlinkat(name.c_str(), tmpfs.get(), link.c_str()) != 0 && errno != EEXIST) {
        isolate::throw_sys("symlink", isolate::join_path(destination, link));
      }
    }
  }
  isolate::MountOptions readonly;
  readonly.flags = mount.parsed.flags & MS_RDONLY;
  isolate::set_mount_attributes(tmpfs.get(), readonly, false, destination);
  isolate::set_propagation(tmpfs.get(), mount.parsed.propagation, destination);
}

void mount_one(const Plan& plan, int root_fd, const Mount& mount) {
  const std::string& type = mount.type;
  if (mount.parsed.bind || type == "bind") {
    std::string source = mount.source;
    if (source.empty() || source[0] != '/') source = plan.bundle + "/" + source;
    bind_mount(root_fd, source, mount.destination, mount.parsed, mount.parsed.recursive);
    return;
  }
  if (type == "cgroup" || type == "cgroup2") {
    cgroup_mount(plan, root_fd, mount);
    return;
  }
  try {
    filesystem_mount(root_fd, mount, type);
  } catch (const isolate::SysError& e) {
    // Inside a user namespace without its own network or ipc namespace, sysfs and mqueue cannot
    // be mounted anew: give the container the host's, as runc does.
    bool fallback =
        e.error_code() == EPERM && plan.in_user_namespace && (type == "sysfs" || type == "mqueue");
    if (!fallback) throw;
    bind_mount(root_fd, type == "sysfs" ? "/sys" : "/dev/mqueue", mount.destination, mount.parsed,
               true);
  }
}

void create_device(int root_fd, const isolate::DeviceNode& device, bool bind_from_host,
                   bool skip_existing) {
  UniqueFd parent =
      isolate::ensure_in_root(root_fd, isolate::dirname_of(device.path), NodeKind::Directory);
  UniqueFd parent_dir = isolate::open_in_root(parent.get(), "/", O_DIRECTORY | O_RDONLY);
  std::string name = isolate::basename_of(device.path);
  if (bind_from_host) {
    UniqueFd target = isolate::ensure_in_root(root_fd, device.path, NodeKind::File);
    isolate::bind_onto(device.path, target.get(), {}, false, device.path);
    return;
  }
  mode_t kind = device.type == 'b' ? S_IFBLK : device.type == 'p' ? S_IFIFO : S_IFCHR;
  mode_t permissions = device.file_mode.value_or(0666) & 07777;
  dev_t number = makedev(static_cast<unsigned>(device.major), static_cast<unsigned>(device.minor));
  if (::mknodat(parent_dir.get(), name.c_str(), kind | permissions, number) != 0) {
    if (errno != EEXIST) isolate::throw_sys("mknod", device.path);
    if (skip_existing) return;
    // linux.devices naming a node that is there already (a privileged container lists the
    // host's /dev/null...): the same node is kept, anything else replaced.
    struct stat st {};
    bool same = ::fstatat(parent_dir.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                (st.st_mode & S_IFMT) == kind && (kind == S_IFIFO || st.st_rdev == number);
    if (!same) {
      if (::unlinkat(parent_dir.get(), name.c_str(), 0) != 0) {
        isolate::throw_sys("replace the existing", device.path);
      }
      if (::mknodat(parent_dir.get(), name.c_str(), kind | permissions, number) != 0) {
        isolate::throw_sys("mknod", device.path);
      }
    } else if (::fchmodat(parent_dir.get(), name.c_str(), permissions, 0) != 0) {
      isolate::throw_sys("chmod", device.path);
    }
  }
  if (::fchownat(parent_dir.get(), name.c_str(), device.uid.value_or(0), device.gid.value_or(0),
                 AT_SYMLINK_NOFOLLOW) != 0) {
    isolate::throw_sys("chown", device.path);
  }
}

void create_dev_links(int root_fd, bool has_devpts) {
  UniqueFd dev = isolate::open_in_root(root_fd, "/dev", O_DIRECTORY | O_RDONLY);
  struct Link {
    const char* name;
    const char* target;
  };
  static constexpr Link kLinks[] = {{"fd", "/proc/self/fd"},
                                    {"stdin", "/proc/self/fd/0"},
                                    {"stdout", "/proc/self/fd/1"},
                                    {"stderr", "/proc/self/fd/2"}};
  for (const auto& link : kLinks) {
    if (::symlinkat(link.target, dev.get(), link.name) != 0 && errno != EEXIST) {
      isolate::throw_sys("symlink", std::string("/dev/") + link.name);
    }
  }
  if (has_devpts) {
    ::unlinkat(dev.get(), "ptmx", 0);
    if (::symlinkat("pts/ptmx", dev.get(), "ptmx") != 0) isolate::throw_sys("symlink", "/dev/ptmx");
  }
}
}  // namespace

Rootfs prepare_rootfs(const Plan& plan) {
  const Spec& spec = *plan.spec;
  // The mounts of the new namespace: slaves of the host's (nothing propagates back), unless
  // linux.rootfsPropagation asks otherwise ("rshared" for bidirectional volumes), as runc does.
  unsigned long propagation = MS_SLAVE | MS_REC;
  if (!spec.linux.rootfs_propagation.empty()) {
    propagation = isolate::propagation_from_name(spec.linux.rootfs_propagation);
  }
  if (::mount(nullptr, "/", nullptr, propagation, nullptr) != 0) {
    isolate::throw_sys("set the propagation of the new mount namespace at", "/");
  }
  Rootfs result;
  {
    UniqueFd dir(::open(plan.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!dir) isolate::throw_sys("open the rootfs", plan.rootfs);
    // The mount the rootfs is on goes private here, so that its bind below does not appear in
    // the host's namespace (and pivot_root accepts it).
    isolate::set_propagation(isolate::mount_root_of(dir.get()).get(), MS_PRIVATE, plan.rootfs);
    // A recursive bind of the rootfs onto itself: a mount point pivot_root can move to.
    result.root = isolate::clone_mount(dir.get(), "", true, plan.rootfs);
    isolate::attach_mount(result.root.get(), dir.get(), plan.rootfs);
  }
  int root_fd = result.root.get();
  if (!spec.linux.masked_paths.empty()) result.null_device = isolate::NullDevice::open_host();
  if (!spec.linux.sysctl.empty()) result.procfs = isolate::PrivateProcfs::open();

  bool dev_is_tmpfs = false;
  bool has_devpts = false;
  for (size_t i = 0; i < spec.mounts.size(); ++i) {
    const Mount& mount = spec.mounts[i];
    try {
      mount_one(plan, root_fd, mount);
    } catch (const std::exception& e) {
      throw std::runtime_error("mounts[" + std::to_string(i) + "] (" + mount.destination +
                               "): " + e.what());
    }
    std::string destination = isolate::clean_absolute_path(mount.destination);
    if (destination == "/dev") dev_is_tmpfs = !(mount.parsed.bind || mount.type == "bind");
    if (destination == "/dev/pts") has_devpts = true;
  }
  if (dev_is_tmpfs) {
    for (const auto& device : isolate::default_devices()) {
      create_device(root_fd, device, plan.in_user_namespace, true);
    }
    create_dev_links(root_fd, has_devpts);
  }
  for (size_t i = 0; i < spec.linux.devices.size(); ++i) {
    try {
      create_device(root_fd, spec.linux.devices[i], plan.in_user_namespace, false);
    } catch (const std::exception& e) {
      throw std::runtime_error("linux.devices[" + std::to_string(i) + "]: " + e.what());
    }
  }
  return result;
}

void enter_rootfs(const Plan& plan, const Rootfs& rootfs) {
  if (plan.no_pivot) {
    isolate::move_and_chroot_into(rootfs.root.get());
  } else {
    isolate::pivot_into(rootfs.root.get());
  }
}

void finish_rootfs(const Spec& spec, Rootfs& rootfs) {
  UniqueFd root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) isolate::throw_sys("open", "/");
  for (const auto& path : spec.linux.masked_paths) {
    isolate::mask_path(root.get(), path, *rootfs.null_device);
  }
  for (const auto& path : spec.linux.readonly_paths) isolate::make_path_readonly(root.get(), path);
  if (spec.root.readonly) isolate::make_root_readonly();
  if (!spec.linux.rootfs_propagation.empty()) {
    isolate::set_propagation(rootfs.root.get(),
                             isolate::propagation_from_name(spec.linux.rootfs_propagation), "/");
  }
  for (const auto& [key, value] : spec.linux.sysctl) rootfs.procfs->write_sysctl(key, value);
}

}  // namespace hanok::oci::launch
