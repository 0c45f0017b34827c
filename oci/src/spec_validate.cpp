// Value and cross-field rules of a typed Spec. Every error names the JSON path of the field.
#include <string>
#include <string_view>

#include "isolate/in_root.hpp"
#include "isolate/mounts.hpp"
#include "json_path.hpp"
#include "oci/spec.hpp"
#include "semver.hpp"

namespace hanok::oci {

using detail::fail;
using detail::json_quoted;
using detail::path_index;
using detail::path_key;
using isolate::NamespaceType;

const Namespace* Linux::find_namespace(NamespaceType type) const {
  for (const auto& ns : namespaces) {
    if (ns.type == type) return &ns;
  }
  return nullptr;
}

namespace {

bool is_absolute(const std::string& path) {
  return !path.empty() && path.front() == '/';
}

void require_absolute(const std::string& value, const std::string& path) {
  if (!is_absolute(value)) fail(path, "must be an absolute path, not " + json_quoted(value));
}

void validate_version(const std::string& version) {
  auto parsed = detail::parse_semver(version);
  if (!parsed) fail("ociVersion", json_quoted(version) + " is not a semantic version (like 1.2.0)");
  if (parsed->major != 1) {
    fail("ociVersion", "version " + json_quoted(version) + " is not supported (only 1.x is)");
  }
}

void validate_process(const Process& process) {
  if (process.args.empty()) fail("process.args", "must not be empty");
  require_absolute(process.cwd, "process.cwd");
  for (std::size_t i = 0; i < process.env.size(); ++i) {
    const std::string& entry = process.env[i];
    auto eq = entry.find('=');
    if (eq == std::string::npos || eq == 0) {
      fail(path_index("process.env", i), "must be NAME=value, not " + json_quoted(entry));
    }
  }
  if (process.oom_score_adj && (*process.oom_score_adj < -1000 || *process.oom_score_adj > 1000)) {
    fail("process.oomScoreAdj",
         "must be from -1000 to 1000, not " + std::to_string(*process.oom_score_adj));
  }
}

void validate_mounts(const std::vector<Mount>& mounts) {
  for (std::size_t i = 0; i < mounts.size(); ++i) {
    const Mount& mount = mounts[i];
    std::string field = path_key(path_index("mounts", i), "destination");
    require_absolute(mount.destination, field);
    std::string problem =
        isolate::proc_mount_problem(isolate::clean_absolute_path(mount.destination),
                                    mount.parsed.bind || mount.type == "bind", mount.type);
    if (!problem.empty()) fail(field, problem);
    if (!mount.uid_mappings.empty() || !mount.gid_mappings.empty()) {
      fail(path_key(path_index("mounts", i),
                    mount.uid_mappings.empty() ? "gidMappings" : "uidMappings"),
           "idmapped mounts are not supported by hanok");
    }
  }
}

void validate_hook_list(const std::vector<Hook>& hooks, const std::string& path) {
  for (std::size_t i = 0; i < hooks.size(); ++i) {
    std::string item = path_index(path, i);
    require_absolute(hooks[i].path, path_key(item, "path"));
    if (hooks[i].timeout && *hooks[i].timeout <= 0) {
      fail(path_key(item, "timeout"), "must be greater than zero");
    }
  }
}

void validate_hooks(const Hooks& hooks) {
  validate_hook_list(hooks.prestart, "hooks.prestart");
  validate_hook_list(hooks.create_runtime, "hooks.createRuntime");
  validate_hook_list(hooks.create_container, "hooks.createContainer");
  validate_hook_list(hooks.start_container, "hooks.startContainer");
  validate_hook_list(hooks.poststart, "hooks.poststart");
  validate_hook_list(hooks.poststop, "hooks.poststop");
}

void validate_namespaces(const Linux& linux) {
  const auto& namespaces = linux.namespaces;
  for (std::size_t i = 0; i < namespaces.size(); ++i) {
    std::string item = path_index("linux.namespaces", i);
    for (std::size_t j = 0; j < i; ++j) {
      if (namespaces[j].type == namespaces[i].type) {
        fail(path_key(item, "type"),
             "duplicate namespace " + json_quoted(isolate::oci_name(namespaces[i].type)));
      }
    }
    if (!namespaces[i].path.empty()) require_absolute(namespaces[i].path, path_key(item, "path"));
  }
}

void validate_user_namespace(const Linux& linux) {
  const Namespace* user = linux.find_namespace(NamespaceType::User);
  if (user == nullptr) {
    if (!linux.uid_mappings.empty()) fail("linux.uidMappings", "requires a user namespace");
    if (!linux.gid_mappings.empty()) fail("linux.gidMappings", "requires a user namespace");
  } else if (user->path.empty()) {
    if (linux.uid_mappings.empty()) {
      fail("linux.uidMappings", "is required when creating a user namespace");
    }
    if (linux.gid_mappings.empty()) {
      fail("linux.gidMappings", "is required when creating a user namespace");
    }
  }
}

void validate_devices(const std::vector<isolate::DeviceNode>& devices) {
  for (std::size_t i = 0; i < devices.size(); ++i) {
    std::string item = path_index("linux.devices", i);
    char type = devices[i].type;
    if (type != 'c' && type != 'b' && type != 'u' && type != 'p') {
      fail(path_key(item, "type"),
           "unknown device type " + json_quoted(std::string(1, type)) + " (expected c, b, u or p)");
    }
    require_absolute(devices[i].path, path_key(item, "path"));
  }
}

void validate_path_list(const std::vector<std::string>& paths, const std::string& path) {
  for (std::size_t i = 0; i < paths.size(); ++i) require_absolute(paths[i], path_index(path, i));
}

void validate_propagation(const std::string& propagation) {
  if (!propagation.empty() && isolate::propagation_from_name(propagation) == 0) {
    fail("linux.rootfsPropagation",
         "unknown propagation " + json_quoted(propagation) +
             " (expected shared, slave, private, unbindable or their r- forms)");
  }
}

// The namespace a sysctl belongs to, or nullopt when it is not namespaced (runc's rules).
std::optional<NamespaceType> sysctl_namespace(std::string_view key) {
  if (key.starts_with("net.")) return NamespaceType::Network;
  if (key.starts_with("kernel.shm") || key.starts_with("kernel.msg") ||
      key.starts_with("kernel.sem") || key.starts_with("fs.mqueue.")) {
    return NamespaceType::Ipc;
  }
  if (key == "kernel.hostname" || key == "kernel.domainname") return NamespaceType::Uts;
  return std::nullopt;
}

void validate_sysctl(const Linux& linux) {
  for (const auto& [key, value] : linux.sysctl) {
    std::string path = path_key("linux.sysctl", key);
    if (key.empty() || key.find('/') != std::string::npos || key.find("..") != std::string::npos) {
      fail(path, "invalid sysctl name " + json_quoted(key));
    }
    auto ns = sysctl_namespace(key);
    if (!ns) fail(path, "not namespaced, so a container may not set it");
    if (!linux.has_namespace(*ns)) {
      const char* article = *ns == NamespaceType::Ipc ? "an " : "a ";
      fail(path, std::string("requires ") + article + isolate::oci_name(*ns) + " namespace");
    }
  }
}

void validate_uts(const Spec& spec) {
  bool uts = spec.linux.has_namespace(NamespaceType::Uts);
  if (!spec.hostname.empty() && !uts) fail("hostname", "requires a uts namespace");
  if (!spec.domainname.empty() && !uts) fail("domainname", "requires a uts namespace");
}

void validate_time_offsets(const Linux& linux) {
  if (linux.time_offsets.empty()) return;
  for (const auto& [clock, offset] : linux.time_offsets) {
    if (clock != "monotonic" && clock != "boottime") {
      fail(path_key("linux.timeOffsets", clock), "unknown clock " + json_quoted(clock));
    }
  }
  const Namespace* time = linux.find_namespace(NamespaceType::Time);
  if (time == nullptr || !time->path.empty()) {
    fail("linux.timeOffsets", "requires a new time namespace (type \"time\" without a path)");
  }
}

void validate_seccomp(const isolate::SeccompProfile& profile) {
  const std::string base = "linux.seccomp";
  if (profile.default_action == isolate::SeccompAction::Notify) {
    fail(path_key(base, "defaultAction"), "SCMP_ACT_NOTIFY is not supported yet");
  }
  for (std::size_t i = 0; i < profile.architectures.size(); ++i) {
    const std::string& arch = profile.architectures[i];
    if (!isolate::seccomp_arch_known(arch)) {
      fail(path_index(path_key(base, "architectures"), i),
           "unknown architecture " + json_quoted(arch));
    }
  }
  for (std::size_t i = 0; i < profile.flags.size(); ++i) {
    const std::string& flag = profile.flags[i];
    if (!isolate::seccomp_flag_known(flag)) {
      fail(path_index(path_key(base, "flags"), i), "unknown flag " + json_quoted(flag));
    }
  }
  for (std::size_t i = 0; i < profile.syscalls.size(); ++i) {
    const isolate::SeccompRule& rule = profile.syscalls[i];
    std::string item = path_index(path_key(base, "syscalls"), i);
    if (rule.names.empty()) fail(path_key(item, "names"), "must not be empty");
    if (rule.action == isolate::SeccompAction::Notify) {
      fail(path_key(item, "action"), "SCMP_ACT_NOTIFY is not supported yet");
    }
    for (std::size_t j = 0; j < rule.args.size(); ++j) {
      if (rule.args[j].index > 5) {
        fail(path_key(path_index(path_key(item, "args"), j), "index"),
             "must be from 0 to 5, not " + std::to_string(rule.args[j].index));
      }
    }
  }
}

}  // namespace

void validate_spec(const Spec& spec) {
  validate_version(spec.oci_version);
  if (spec.root.path.empty()) fail("root.path", "must not be empty");
  if (spec.process) validate_process(*spec.process);
  validate_mounts(spec.mounts);
  validate_hooks(spec.hooks);

  const Linux& linux = spec.linux;
  validate_namespaces(linux);
  validate_user_namespace(linux);
  validate_devices(linux.devices);
  validate_propagation(linux.rootfs_propagation);
  validate_path_list(linux.masked_paths, "linux.maskedPaths");
  validate_path_list(linux.readonly_paths, "linux.readonlyPaths");
  validate_sysctl(linux);
  validate_uts(spec);
  validate_time_offsets(linux);
  if (linux.seccomp) validate_seccomp(*linux.seccomp);
}

}  // namespace hanok::oci
