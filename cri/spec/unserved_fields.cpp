#include "unserved_fields.hpp"

#include <linux/magic.h>
#include <sys/statfs.h>

#include <filesystem>
#include <string>

#include "isolate/error.hpp"
#include "isolate/in_root.hpp"
#include "isolate/lsm.hpp"
#include "isolate/mountinfo.hpp"
#include "isolate/mounts.hpp"

namespace hanok::cri {

namespace {

using runtime::v1::SecurityProfile;

[[noreturn]] void refuse(const std::string& field, const std::string& why) {
  throw isolate::Error(isolate::ErrorKind::Invalid, "config." + field + ": " + why);
}

void refuse_user_namespace(const runtime::v1::NamespaceOption& options, const std::string& field) {
  // Absent means the host's user namespace, as the kubelet sends it when the pod has hostUsers.
  if (!options.has_userns_options() || options.userns_options().mode() == runtime::v1::NODE) return;
  refuse(field + ".userns_options.mode",
         runtime::v1::NamespaceMode_Name(options.userns_options().mode()) +
             ": hanok does not run pods in user namespaces of their own yet (Status reports "
             "user_namespaces false)");
}

void refuse_selinux(const runtime::v1::SELinuxOption& options, const std::string& field) {
  if (options.user().empty() && options.role().empty() && options.type().empty() &&
      options.level().empty()) {
    return;
  }
  refuse(field, isolate::selinux_enabled()
                    ? "hanok does not apply SELinux labels"
                    : "selinux is not supported (SELinux is not enabled on this host)");
}

// An AppArmor profile ("" and unconfined ask for nothing): containerd refuses one where AppArmor
// is not enabled; hanok, which applies none yet, refuses one everywhere.
void refuse_apparmor(const std::string& profile, const std::string& field) {
  if (profile.empty() || profile == "unconfined") return;
  refuse(field, "profile " + profile + ": " +
                    (isolate::apparmor_enabled()
                         ? "hanok does not apply AppArmor profiles yet"
                         : "apparmor is not supported (AppArmor is not enabled on this host)"));
}

std::string profile_name(const SecurityProfile& profile) {
  switch (profile.profile_type()) {
    case SecurityProfile::Unconfined:
      return "unconfined";
    case SecurityProfile::Localhost:
      return "localhost/" + profile.localhost_ref();
    default:
      return "runtime/default";
  }
}

void refuse_mount(const runtime::v1::Mount& mount, const std::string& field,
                  const std::vector<isolate::MountInfo>& host_mounts) {
  if (mount.has_image() && !mount.image().image().empty()) {
    refuse(field + ".image", "image volumes are not supported by hanok");
  }
  if (!mount.image_sub_path().empty()) {
    refuse(field + ".image_sub_path", "image volumes are not supported by hanok");
  }
  if (mount.uidmappings_size() > 0 || mount.gidmappings_size() > 0) {
    refuse(field + (mount.uidmappings_size() > 0 ? ".uidMappings" : ".gidMappings"),
           "idmapped mounts are not supported by hanok");
  }
  if (mount.recursive_read_only()) {
    refuse(field + ".recursive_read_only",
           "recursively read-only mounts are not supported by hanok yet (Status reports "
           "recursive_read_only_mounts false)");
  }
  if (mount.mount_options_size() > 0) {
    refuse(field + ".mount_options", "bind mount options are not supported by hanok");
  }
  // selinux_relabel asks for no protection: hanok labels no container, so a volume needs no
  // relabelling to be usable (the kubelet sets it on most mounts where SELinux is on).
  if (!mount.container_path().empty() && mount.container_path()[0] == '/') {
    std::string destination = isolate::clean_absolute_path(mount.container_path());
    std::string problem = isolate::proc_mount_problem(destination, true, "bind");
    struct statfs fs {};
    if (problem.empty() && destination == "/proc" &&
        (::statfs(mount.host_path().c_str(), &fs) != 0 || fs.f_type != PROC_SUPER_MAGIC)) {
      problem = "\"/proc\" cannot be mounted because it is not of type proc";
    }
    if (!problem.empty()) refuse(field + ".container_path", problem);
  }
  // Propagation needs the host path's own mount to propagate (containerd's checks).
  bool bidirectional = mount.propagation() == runtime::v1::PROPAGATION_BIDIRECTIONAL;
  bool to_container = mount.propagation() == runtime::v1::PROPAGATION_HOST_TO_CONTAINER;
  if ((bidirectional || to_container) && !mount.host_path().empty()) {
    std::error_code error;
    std::string source = std::filesystem::canonical(mount.host_path(), error).string();
    if (error) return;  // made or refused with the host_path later
    auto holder = isolate::mount_holding(host_mounts, source);
    if (!holder) return;
    if (bidirectional && !holder->shared()) {
      refuse(field + ".propagation", "path \"" + source + "\" is mounted on \"" +
                                         holder->mount_point + "\" but it is not a shared mount");
    }
    if (to_container && !holder->shared() && !holder->slave()) {
      refuse(field + ".propagation", "path \"" + source + "\" is mounted on \"" +
                                         holder->mount_point +
                                         "\" but it is not a shared or slave mount");
    }
  }
}

}  // namespace

void refuse_unserved(const runtime::v1::PodSandboxConfig& config) {
  const auto& sc = config.linux().security_context();
  const std::string field = "linux.security_context";
  refuse_user_namespace(sc.namespace_options(), field + ".namespace_options");
  refuse_selinux(sc.selinux_options(), field + ".selinux_options");
  if (sc.has_apparmor()) refuse_apparmor(profile_name(sc.apparmor()), field + ".apparmor");
}

void refuse_unserved(const runtime::v1::ContainerConfig& config) {
  const auto& sc = config.linux().security_context();
  const std::string field = "linux.security_context";
  refuse_user_namespace(sc.namespace_options(), field + ".namespace_options");
  refuse_selinux(sc.selinux_options(), field + ".selinux_options");
  if (sc.has_apparmor()) refuse_apparmor(profile_name(sc.apparmor()), field + ".apparmor");
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  refuse_apparmor(sc.apparmor_profile(), field + ".apparmor_profile");
#pragma GCC diagnostic pop
  if (config.cdi_devices_size() > 0) {
    refuse("CDI_devices[0]", "CDI device \"" + config.cdi_devices(0).name() +
                                 "\": CDI devices are not supported by hanok");
  }
  for (const auto& [key, value] : config.annotations()) {
    if (key.rfind("cdi.k8s.io/", 0) == 0) {
      refuse("annotations[\"" + key + "\"]", "CDI devices are not supported by hanok");
    }
  }
  std::vector<isolate::MountInfo> host_mounts;
  for (int i = 0; i < config.mounts_size(); ++i) {
    const auto& mount = config.mounts(i);
    if (host_mounts.empty() && mount.propagation() != runtime::v1::PROPAGATION_PRIVATE) {
      host_mounts = isolate::read_mountinfo();
    }
    refuse_mount(mount, "mounts[" + std::to_string(i) + "]", host_mounts);
  }
}

}  // namespace hanok::cri
