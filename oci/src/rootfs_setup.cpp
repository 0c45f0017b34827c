#include "rootfs_setup.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <linux/magic.h>
#include <stdexcept>

#include "isolate/error.hpp"
#include "isolate/in_root.hpp"
#include "isolate/mounts.hpp"

namespace hanok::oci::launch {

namespace {
using isolate::NodeKind;
using isolate::UniqueFd;

std::string dirname_of(const std::string& path) {
  std::string clean = isolate::clean_absolute_path(path);
  size_t slash = clean.rfind('/');
  return slash == 0 ? "/" : clean.substr(0, slash);
}

std::string basename_of(const std::string& path) {
  std::string clean = isolate::clean_absolute_path(path);
  return clean.substr(clean.rfind('/') + 1);
}

bool host_is_cgroup2_only() {
  struct statfs fs {};
  return ::statfs("/sys/fs/cgroup", &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC;
}

// A bind mount of `source` (a host path) onto `destination` inside the root.
void bind_mount(int root_fd, const std::string& source, const std::string& destination,
                const isolate::MountOptions& options, bool recursive) {
  struct stat st {};
  if (::stat(source.c_str(), &st) != 0) isolate::throw_sys("bind mount source", source);
  UniqueFd target = isolate::ensure_in_root(
      root_fd, destination, S_ISDIR(st.st_mode) ? NodeKind::Directory : NodeKind::File);
  isolate::mount_onto_fd(source, target.get(), "", MS_BIND | (recursive ? MS_REC : 0), "",
                         destination);
  UniqueFd mounted = isolate::open_in_root(root_fd, destination, O_PATH);
  isolate::set_mount_attributes(mounted.get(), options, recursive, destination);
  if (options.propagation != 0) {
    isolate::set_propagation(isolate::fd_path(mounted.get()), options.propagation);
  }
}

void filesystem_mount(int root_fd, const Mount& mount, const std::string& type) {
  UniqueFd target = isolate::ensure_in_root(root_fd, mount.destination, NodeKind::Directory);
  std::string source = mount.source.empty() ? type : mount.source;
  unsigned long flags = mount.parsed.flags & ~(MS_BIND | MS_REC);
  isolate::mount_onto_fd(source, target.get(), type, flags, mount.parsed.data, mount.destination);
  if (mount.parsed.propagation != 0) {
    UniqueFd mounted = isolate::open_in_root(root_fd, mount.destination, O_PATH);
    isolate::set_propagation(isolate::fd_path(mounted.get()), mount.parsed.propagation);
  }
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
    bool own_cgroup_ns = plan.spec->linux.has_namespace(isolate::NamespaceType::Cgroup);
    if (host_is_cgroup2_only() && (own_cgroup_ns || type == "cgroup2")) {
      filesystem_mount(root_fd, mount, "cgroup2");
    } else {
      // A v1 or hybrid host: the host's hierarchy, read-only as the options ask.
      bind_mount(root_fd, "/sys/fs/cgroup", mount.destination, mount.parsed, true);
    }
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
  UniqueFd parent = isolate::ensure_in_root(root_fd, dirname_of(device.path), NodeKind::Directory);
  UniqueFd parent_dir = isolate::open_in_root(parent.get(), "/", O_DIRECTORY | O_RDONLY);
  std::string name = basename_of(device.path);
  if (bind_from_host) {
    UniqueFd target = isolate::ensure_in_root(root_fd, device.path, NodeKind::File);
    isolate::mount_onto_fd(device.path, target.get(), "", MS_BIND, "", device.path);
    return;
  }
  mode_t kind = device.type == 'b' ? S_IFBLK : device.type == 'p' ? S_IFIFO : S_IFCHR;
  mode_t mode = kind | (device.file_mode.value_or(0666) & 07777);
  if (::mknodat(
          parent_dir.get(), name.c_str(), mode,
          makedev(static_cast<unsigned>(device.major), static_cast<unsigned>(device.minor))) != 0) {
    if (errno == EEXIST && skip_existing) return;
    isolate::throw_sys("mknod", device.path);
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

void prepare_rootfs(const Plan& plan) {
  const Spec& spec = *plan.spec;
  // Nothing mounted in here may propagate back to the host.
  isolate::set_propagation("/", MS_SLAVE | MS_REC);
  if (::mount(plan.rootfs.c_str(), plan.rootfs.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) {
    isolate::throw_sys("bind mount the rootfs", plan.rootfs);
  }
  UniqueFd root(::open(plan.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) isolate::throw_sys("open the rootfs", plan.rootfs);

  bool dev_is_tmpfs = false;
  bool has_devpts = false;
  for (size_t i = 0; i < spec.mounts.size(); ++i) {
    const Mount& mount = spec.mounts[i];
    try {
      mount_one(plan, root.get(), mount);
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
      create_device(root.get(), device, plan.in_user_namespace, true);
    }
    create_dev_links(root.get(), has_devpts);
  }
  for (size_t i = 0; i < spec.linux.devices.size(); ++i) {
    try {
      create_device(root.get(), spec.linux.devices[i], plan.in_user_namespace, false);
    } catch (const std::exception& e) {
      throw std::runtime_error("linux.devices[" + std::to_string(i) + "]: " + e.what());
    }
  }
}

void enter_rootfs(const Plan& plan) {
  if (plan.no_pivot) {
    isolate::move_and_chroot_into(plan.rootfs);
  } else {
    isolate::pivot_into(plan.rootfs);
  }
}

void finish_rootfs(const Spec& spec) {
  for (const auto& path : spec.linux.masked_paths) isolate::mask_path(path);
  for (const auto& path : spec.linux.readonly_paths) isolate::make_path_readonly(path);
  if (spec.root.readonly) isolate::make_root_readonly();
  if (!spec.linux.rootfs_propagation.empty()) {
    isolate::set_propagation("/", isolate::propagation_from_name(spec.linux.rootfs_propagation));
  }
}

}  // namespace hanok::oci::launch
