#include "container_spec.hpp"

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include "cri_signals.hpp"
#include "isolate/capabilities.hpp"
#include "isolate/error.hpp"
#include "isolate/files.hpp"
#include "isolate/in_root.hpp"
#include "isolate/process.hpp"
#include "isolate/text.hpp"
#include "pod_layout.hpp"
#include "rootfs_accounts.hpp"
#include "seccomp_profiles.hpp"

namespace hanok::cri {

using nlohmann::json;
using runtime::v1::NamespaceMode;

namespace {

isolate::Error invalid(const std::string& field, const std::string& what) {
  return isolate::Error(isolate::ErrorKind::Invalid, "config." + field + ": " + what);
}

constexpr const char* kDefaultPath =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// The image config's "config" object (Entrypoint, Cmd, Env, WorkingDir, User, StopSignal).
json image_config(const images::ImageInfo& image) {
  auto doc = json::parse(image.config_json, nullptr, false);
  if (doc.is_object() && doc.contains("config") && doc["config"].is_object()) return doc["config"];
  return json::object();
}

std::vector<std::string> strings_of(const json& config, const char* key) {
  std::vector<std::string> out;
  auto it = config.find(key);
  if (it == config.end() || !it->is_array()) return out;
  for (const auto& item : *it) {
    if (item.is_string()) out.push_back(item.get<std::string>());
  }
  return out;
}

std::string string_of(const json& config, const char* key) {
  auto it = config.find(key);
  return it != config.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The kubelet's rule: the config's command replaces the image's entrypoint, its args the
// image's cmd; args alone run after the image's entrypoint.
std::vector<std::string> process_args(const runtime::v1::ContainerConfig& config,
                                      const json& image) {
  std::vector<std::string> command(config.command().begin(), config.command().end());
  std::vector<std::string> args(config.args().begin(), config.args().end());
  if (command.empty()) {
    if (args.empty()) args = strings_of(image, "Cmd");
    auto entrypoint = strings_of(image, "Entrypoint");
    if (!(entrypoint.size() == 1 && entrypoint[0].empty())) command = entrypoint;
  }
  command.insert(command.end(), args.begin(), args.end());
  if (command.empty()) {
    throw invalid("command", "no command specified (none in the config, none in the image)");
  }
  return command;
}

// KEY=VALUE lists merged by key, later ones replacing earlier ones in place.
void merge_env(std::vector<std::string>& env, const std::string& entry) {
  std::string key = entry.substr(0, entry.find('='));
  for (auto& existing : env) {
    if (existing.substr(0, existing.find('=')) == key) {
      existing = entry;
      return;
    }
  }
  env.push_back(entry);
}

std::string capability_name_of(const std::string& field, const std::string& name) {
  std::string upper = name;
  std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
  if (upper.rfind("CAP_", 0) != 0) upper = "CAP_" + upper;
  if (!isolate::capability_from_name(upper))
    throw invalid(field, "unknown capability \"" + name + "\"");
  return upper;
}

// "All" capabilities are those hanokd itself holds (its permitted set), as containerd's: a node
// where root lacks some (CAP_SYS_RESOURCE here) cannot grant them.
std::vector<std::string> all_capabilities() {
  uint64_t permitted = 0;
  if (auto status = isolate::read_file_if_exists("/proc/self/status")) {
    for (std::string_view line : isolate::split(*status, "\n")) {
      if (line.rfind("CapPrm:", 0) != 0) continue;
      permitted = std::strtoull(std::string(isolate::trim(line.substr(7))).c_str(), nullptr, 16);
    }
  }
  std::vector<std::string> caps;
  int last = isolate::last_supported_capability();
  for (const auto& name : isolate::known_capability_names()) {
    auto number = isolate::capability_from_name(name);
    if (number && *number <= last && *number < 64 && (permitted >> *number & 1) != 0) {
      caps.push_back(name);
    }
  }
  return caps;
}

// containerd's order: add ALL, drop ALL, then the single adds, then the single drops.
std::vector<std::string> capabilities_for(const runtime::v1::LinuxContainerSecurityContext& sc) {
  if (sc.privileged()) return all_capabilities();
  std::vector<std::string> caps = default_capabilities();
  if (!sc.has_capabilities()) return caps;
  const auto& c = sc.capabilities();
  auto is_all = [](const std::string& name) {
    std::string upper = name;
    std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
    return upper == "ALL";
  };
  if (std::any_of(c.add_capabilities().begin(), c.add_capabilities().end(), is_all)) {
    caps = all_capabilities();
  }
  if (std::any_of(c.drop_capabilities().begin(), c.drop_capabilities().end(), is_all)) caps.clear();
  for (int i = 0; i < c.add_capabilities_size(); ++i) {
    if (is_all(c.add_capabilities(i))) continue;
    std::string name = capability_name_of(
        "linux.security_context.capabilities.add_capabilities[" + std::to_string(i) + "]",
        c.add_capabilities(i));
    if (std::find(caps.begin(), caps.end(), name) == caps.end()) caps.push_back(name);
  }
  for (int i = 0; i < c.drop_capabilities_size(); ++i) {
    if (is_all(c.drop_capabilities(i))) continue;
    std::string name = capability_name_of(
        "linux.security_context.capabilities.drop_capabilities[" + std::to_string(i) + "]",
        c.drop_capabilities(i));
    caps.erase(std::remove(caps.begin(), caps.end(), name), caps.end());
  }
  return caps;
}

// The kubelet's ambient capabilities (kept across an exec by a non-root user): also inheritable
// (the kernel keeps an ambient one only when it is permitted and inheritable); each must be
// granted to the container already.
std::vector<std::string> ambient_capabilities_for(
    const runtime::v1::LinuxContainerSecurityContext& sc) {
  std::vector<std::string> ambient;
  const auto& add = sc.capabilities().add_ambient_capabilities();
  for (int i = 0; i < add.size(); ++i) {
    std::string name = capability_name_of(
        "linux.security_context.capabilities.add_ambient_capabilities[" + std::to_string(i) + "]",
        add.Get(i));
    if (std::find(ambient.begin(), ambient.end(), name) == ambient.end()) ambient.push_back(name);
  }
  return ambient;
}

// The user spec the container runs as: the config's (name or uid, with the group), else the
// image's USER.
std::string user_spec(const runtime::v1::LinuxContainerSecurityContext& sc, const json& image) {
  std::string group = sc.has_run_as_group() ? ":" + std::to_string(sc.run_as_group().value()) : "";
  if (!sc.run_as_username().empty()) return sc.run_as_username() + group;
  if (sc.has_run_as_user()) {
    if (sc.run_as_user().value() < 0) {
      throw invalid("linux.security_context.run_as_user", "must not be negative");
    }
    return std::to_string(sc.run_as_user().value()) + group;
  }
  if (sc.has_run_as_group()) {
    throw invalid("linux.security_context.run_as_group",
                  "is set without run_as_user or run_as_username");
  }
  return string_of(image, "User");
}

json bind(const std::string& destination, const std::string& source,
          std::vector<std::string> options) {
  return json{{"destination", destination},
              {"type", "bind"},
              {"source", source},
              {"options", std::move(options)}};
}

// A device node's OCI entry from the host file (symlinks followed); nullopt for anything else.
std::optional<json> device_entry(const std::string& host_path, const std::string& container_path) {
  struct stat st {};
  if (::stat(host_path.c_str(), &st) != 0) return std::nullopt;
  const char* type = S_ISCHR(st.st_mode) ? "c" : S_ISBLK(st.st_mode) ? "b" : nullptr;
  if (type == nullptr) return std::nullopt;
  return json{{"path", container_path},
              {"type", type},
              {"major", major(st.st_rdev)},
              {"minor", minor(st.st_rdev)},
              {"fileMode", st.st_mode & 07777},
              {"uid", st.st_uid},
              {"gid", st.st_gid}};
}

// Every device node below `dir` (recursively), skipping what containerd and runc skip.
void host_devices(const std::string& dir, json& out) {
  static const std::set<std::string> skipped = {"pts",  "shm",         "fd",    "mqueue",
                                                ".lxc", ".lxd-mounts", ".udev", "console"};
  DIR* d = ::opendir(dir.c_str());
  if (!d) return;
  while (dirent* entry = ::readdir(d)) {
    std::string name = entry->d_name;
    if (name == "." || name == ".." || skipped.count(name) != 0) continue;
    std::string path = dir + "/" + name;
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      host_devices(path, out);
    } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
      if (auto device = device_entry(path, path)) out.push_back(*device);
    }
  }
  ::closedir(d);
}

// The CRI's devices: a file, or a directory of them (each keeps its relative path).
void cri_devices(const runtime::v1::ContainerConfig& config, json& devices, json& allow) {
  for (int i = 0; i < config.devices_size(); ++i) {
    const auto& device = config.devices(i);
    std::string field = "devices[" + std::to_string(i) + "]";
    if (device.host_path().empty()) throw invalid(field + ".host_path", "must not be empty");
    std::string container_path =
        device.container_path().empty() ? device.host_path() : device.container_path();
    if (container_path[0] != '/') throw invalid(field + ".container_path", "must be absolute");
    std::string permissions = device.permissions().empty() ? "rwm" : device.permissions();
    if (permissions.find_first_not_of("rwm") != std::string::npos) {
      throw invalid(field + ".permissions", "\"" + permissions + "\" is not a subset of rwm");
    }
    std::error_code error;
    std::string host = std::filesystem::canonical(device.host_path(), error).string();
    if (error) throw invalid(field + ".host_path", device.host_path() + ": " + error.message());
    std::vector<std::pair<std::string, std::string>> nodes;
    struct stat st {};
    if (::stat(host.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      for (const auto& entry : std::filesystem::recursive_directory_iterator(host, error)) {
        std::string relative = entry.path().string().substr(host.size());
        nodes.emplace_back(entry.path().string(), container_path + relative);
      }
    } else {
      nodes.emplace_back(host, container_path);
    }
    bool any = false;
    for (const auto& [host_node, inside] : nodes) {
      auto entry = device_entry(host_node, inside);
      if (!entry) continue;
      any = true;
      devices.push_back(*entry);
      allow.push_back({{"allow", true},
                       {"type", (*entry)["type"]},
                       {"major", (*entry)["major"]},
                       {"minor", (*entry)["minor"]},
                       {"access", permissions}});
    }
    if (!any) throw invalid(field + ".host_path", device.host_path() + " is not a device");
  }
}

const char* propagation_option(runtime::v1::MountPropagation propagation) {
  switch (propagation) {
    case runtime::v1::PROPAGATION_HOST_TO_CONTAINER:
      return "rslave";
    case runtime::v1::PROPAGATION_BIDIRECTIONAL:
      return "rshared";
    default:
      return "rprivate";
  }
}

size_t depth(const std::string& path) {
  return isolate::split(path, "/").size();
}

}  // namespace

json oci_resources(const runtime::v1::LinuxContainerResources& r) {
  json resources = json::object();
  json cpu = json::object();
  if (r.cpu_shares() != 0) cpu["shares"] = r.cpu_shares();
  if (r.cpu_quota() != 0) cpu["quota"] = r.cpu_quota();
  if (r.cpu_period() != 0) cpu["period"] = r.cpu_period();
  if (!r.cpuset_cpus().empty()) cpu["cpus"] = r.cpuset_cpus();
  if (!r.cpuset_mems().empty()) cpu["mems"] = r.cpuset_mems();
  if (!cpu.empty()) resources["cpu"] = cpu;
  json memory = json::object();
  if (r.memory_limit_in_bytes() != 0) memory["limit"] = r.memory_limit_in_bytes();
  if (r.memory_swap_limit_in_bytes() != 0) memory["swap"] = r.memory_swap_limit_in_bytes();
  if (!memory.empty()) resources["memory"] = memory;
  if (r.hugepage_limits_size() > 0) {
    json limits = json::array();
    for (const auto& limit : r.hugepage_limits()) {
      limits.push_back({{"pageSize", limit.page_size()}, {"limit", limit.limit()}});
    }
    resources["hugepageLimits"] = limits;
  }
  if (r.unified_size() > 0) {
    json unified = json::object();
    for (const auto& [key, value] : r.unified()) unified[key] = value;
    resources["unified"] = unified;
  }
  return resources;
}

void check_resources(const runtime::v1::LinuxContainerResources& r, const std::string& prefix) {
  auto fail = [&](const char* field, const char* what) {
    throw isolate::Error(isolate::ErrorKind::Invalid, prefix + field + ": " + what);
  };
  if (r.cpu_period() < 0) fail("cpu_period", "must not be negative");
  if (r.cpu_shares() < 0) fail("cpu_shares", "must not be negative");
  if (r.memory_limit_in_bytes() < 0) fail("memory_limit_in_bytes", "must not be negative");
  if (r.cpu_quota() < -1) fail("cpu_quota", "must be -1 or more");
  if (r.memory_swap_limit_in_bytes() < -1) fail("memory_swap_limit_in_bytes", "must be -1 or more");
  if (r.oom_score_adj() < -1000 || r.oom_score_adj() > 1000) {
    fail("oom_score_adj", "must be from -1000 to 1000");
  }
}

const std::vector<std::string>& default_capabilities() {
  static const std::vector<std::string> caps = {
      "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
      "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
      "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
      "CAP_KILL",    "CAP_AUDIT_WRITE"};
  return caps;
}

ContainerSpec build_container_spec(const ContainerSpecInputs& in) {
  const auto& config = *in.config;
  const auto& pod = *in.pod;
  const auto& pod_config = pod.config();
  const auto& sc = config.linux().security_context();
  const auto& pod_sc = pod_config.linux().security_context();
  json image = image_config(*in.image);
  if (sc.privileged() && !pod_sc.privileged()) {
    throw invalid("linux.security_context.privileged",
                  "a privileged container needs a privileged pod sandbox");
  }
  if (config.linux().has_resources()) {
    check_resources(config.linux().resources(), "config.linux.resources.");
  }

  ContainerSpec spec;
  json& out = spec.config;
  out["ociVersion"] = "1.0.2";

  // process
  json process = json::object();
  process["terminal"] = config.tty();
  process["args"] = process_args(config, image);
  std::vector<std::string> env = {kDefaultPath};
  if (config.tty()) env.emplace_back("TERM=xterm");
  env.push_back("HOSTNAME=" +
                (pod_config.hostname().empty() ? node_hostname() : pod_config.hostname()));
  for (const auto& entry : strings_of(image, "Env")) merge_env(env, entry);
  for (int i = 0; i < config.envs_size(); ++i) {
    if (config.envs(i).key().empty()) {
      throw invalid("envs[" + std::to_string(i) + "].key", "must not be empty");
    }
    merge_env(env, config.envs(i).key() + "=" + config.envs(i).value());
  }
  process["env"] = env;
  std::string cwd = config.working_dir();
  if (cwd.empty()) cwd = string_of(image, "WorkingDir");
  if (cwd.empty()) cwd = "/";
  if (cwd[0] != '/') throw invalid("working_dir", "\"" + cwd + "\" is not an absolute path");
  process["cwd"] = cwd;

  std::string field = sc.run_as_username().empty() && !sc.has_run_as_user()
                          ? std::string("image.user")
                          : "config.linux.security_context.run_as_user";
  RootfsAccounts accounts(in.rootfs_fd);
  std::vector<int64_t> supplemental(sc.supplemental_groups().begin(),
                                    sc.supplemental_groups().end());
  ImageGroups image_groups = sc.supplemental_groups_policy() == runtime::v1::Strict
                                 ? ImageGroups::Strict
                                 : ImageGroups::Merge;
  ResolvedUser user =
      resolve_user(accounts, user_spec(sc, image), supplemental, field, image_groups);
  process["user"] = {
      {"uid", user.uid}, {"gid", user.gid}, {"additionalGids", user.additional_gids}};

  std::vector<std::string> caps = capabilities_for(sc);
  std::vector<std::string> ambient = ambient_capabilities_for(sc);
  for (size_t i = 0; i < ambient.size(); ++i) {
    if (std::find(caps.begin(), caps.end(), ambient[i]) == caps.end()) {
      throw invalid(
          "linux.security_context.capabilities.add_ambient_capabilities[" + std::to_string(i) + "]",
          ambient[i] + " is not granted to the container (add it to add_capabilities)");
    }
  }
  process["capabilities"] = {{"bounding", caps},
                             {"effective", caps},
                             {"permitted", caps},
                             {"inheritable", ambient},
                             {"ambient", ambient}};
  process["noNewPrivileges"] = sc.no_new_privs();
  if (config.linux().has_resources() && config.linux().resources().oom_score_adj() != 0) {
    process["oomScoreAdj"] = config.linux().resources().oom_score_adj();
  }
  out["process"] = process;
  out["root"] = {{"path", in.rootfs}, {"readonly", sc.readonly_rootfs()}};

  // mounts
  const auto& pod_ns = pod_sc.namespace_options();
  bool privileged = sc.privileged();
  std::vector<json> defaults = {
      {{"destination", "/proc"},
       {"type", "proc"},
       {"source", "proc"},
       {"options", {"nosuid", "noexec", "nodev"}}},
      {{"destination", "/dev"},
       {"type", "tmpfs"},
       {"source", "tmpfs"},
       {"options", {"nosuid", "strictatime", "mode=755", "size=65536k"}}},
      {{"destination", "/dev/pts"},
       {"type", "devpts"},
       {"source", "devpts"},
       {"options", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}}},
      {{"destination", "/dev/mqueue"},
       {"type", "mqueue"},
       {"source", "mqueue"},
       {"options", {"nosuid", "noexec", "nodev"}}},
      {{"destination", "/sys"},
       {"type", "sysfs"},
       {"source", "sysfs"},
       {"options", {"nosuid", "noexec", "nodev", privileged ? "rw" : "ro"}}},
      {{"destination", "/sys/fs/cgroup"},
       {"type", "cgroup"},
       {"source", "cgroup"},
       {"options", {"nosuid", "noexec", "nodev", "relatime", privileged ? "rw" : "ro"}}},
  };
  const char* files_mode = sc.readonly_rootfs() ? "ro" : "rw";
  std::vector<json> system = {
      bind("/etc/hostname", pod.dir() + "/hostname", {"rbind", "rprivate", files_mode}),
      bind("/etc/hosts", pod.dir() + "/hosts", {"rbind", "rprivate", files_mode}),
      bind("/etc/resolv.conf", pod.dir() + "/resolv.conf", {"rbind", "rprivate", files_mode}),
      bind("/dev/shm", pod_ns.ipc() == runtime::v1::NODE ? "/dev/shm" : pod.dir() + "/shm",
           {"rbind", "rprivate", "rw"}),
  };
  std::vector<json> user_mounts;
  std::set<std::string> user_destinations;
  std::string rootfs_propagation;
  for (int i = 0; i < config.mounts_size(); ++i) {
    const auto& m = config.mounts(i);
    std::string prefix = "mounts[" + std::to_string(i) + "]";
    if (m.container_path().empty() || m.container_path()[0] != '/') {
      throw invalid(prefix + ".container_path", "\"" + m.container_path() + "\" is not absolute");
    }
    if (m.host_path().empty()) throw invalid(prefix + ".host_path", "must not be empty");
    std::error_code error;
    if (!std::filesystem::exists(m.host_path(), error)) {
      // As containerd: a missing host directory is created.
      std::filesystem::create_directories(m.host_path(), error);
      if (error) throw invalid(prefix + ".host_path", m.host_path() + ": " + error.message());
    }
    std::string source = std::filesystem::canonical(m.host_path(), error).string();
    if (error) throw invalid(prefix + ".host_path", m.host_path() + ": " + error.message());
    const char* propagation = propagation_option(m.propagation());
    if (m.propagation() == runtime::v1::PROPAGATION_BIDIRECTIONAL) {
      rootfs_propagation = "rshared";
    } else if (m.propagation() == runtime::v1::PROPAGATION_HOST_TO_CONTAINER &&
               rootfs_propagation.empty()) {
      rootfs_propagation = "rslave";
    }
    std::string destination = isolate::clean_absolute_path(m.container_path());
    user_destinations.insert(destination);
    user_mounts.push_back(
        bind(destination, source, {"rbind", propagation, m.readonly() ? "ro" : "rw"}));
  }
  std::stable_sort(user_mounts.begin(), user_mounts.end(), [](const json& a, const json& b) {
    return depth(a["destination"].get<std::string>()) < depth(b["destination"].get<std::string>());
  });
  bool dev_given = user_destinations.count("/dev") != 0;
  json mounts = json::array();
  auto wanted = [&](const json& mount) {
    std::string destination = mount["destination"].get<std::string>();
    if (user_destinations.count(destination) != 0) return false;
    return !(dev_given && destination.rfind("/dev/", 0) == 0);
  };
  for (const auto& mount : defaults) {
    if (wanted(mount)) mounts.push_back(mount);
  }
  for (const auto& mount : system) {
    if (wanted(mount)) mounts.push_back(mount);
  }
  for (auto& mount : user_mounts) mounts.push_back(std::move(mount));
  out["mounts"] = mounts;

  // linux
  json linux = json::object();
  json namespaces = json::array({{{"type", "mount"}}});
  auto join_pinned = [&](const char* type, const char* name) {
    for (const auto& pinned : pod.pinned()) {
      if (pinned == name) {
        namespaces.push_back({{"type", type}, {"path", pinned_namespace(pod, name)}});
        return;
      }
    }
  };
  join_pinned("network", "net");
  join_pinned("ipc", "ipc");
  join_pinned("uts", "uts");
  switch (sc.namespace_options().pid()) {
    case runtime::v1::POD: {
      bool pinned =
          std::find(pod.pinned().begin(), pod.pinned().end(), "pid") != pod.pinned().end();
      if (!pinned) {
        throw invalid("linux.security_context.namespace_options.pid",
                      "POD, but the pod sandbox has no PID namespace of its own (its pid mode is " +
                          runtime::v1::NamespaceMode_Name(pod_ns.pid()) + ")");
      }
      namespaces.push_back({{"type", "pid"}, {"path", pinned_namespace(pod, "pid")}});
      break;
    }
    case runtime::v1::NODE:
      break;
    case runtime::v1::TARGET:
      namespaces.push_back({{"type", "pid"}, {"path", in.target_pid_namespace}});
      break;
    default:
      namespaces.push_back({{"type", "pid"}});
  }
  if (in.cgroup_v2 && !privileged) namespaces.push_back({{"type", "cgroup"}});
  linux["namespaces"] = namespaces;
  linux["cgroupsPath"] = in.cgroups_path;

  json resources =
      config.linux().has_resources() ? oci_resources(config.linux().resources()) : json::object();
  json devices = json::array();
  json allow = json::array({{{"allow", false}, {"access", "rwm"}}});
  if (privileged) {
    host_devices("/dev", devices);
    allow.push_back({{"allow", true}, {"access", "rwm"}});
  }
  cri_devices(config, devices, allow);
  resources["devices"] = allow;
  linux["resources"] = resources;
  if (!devices.empty()) linux["devices"] = devices;
  if (!privileged) {
    linux["maskedPaths"] =
        std::vector<std::string>(sc.masked_paths().begin(), sc.masked_paths().end());
    linux["readonlyPaths"] =
        std::vector<std::string>(sc.readonly_paths().begin(), sc.readonly_paths().end());
    // The kubelet still sends the older string field (deprecated in the API, read as containerd
    // reads it).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    const std::string& profile_path = sc.seccomp_profile_path();
#pragma GCC diagnostic pop
    SeccompChoice choice = choose_seccomp(sc.has_seccomp() ? &sc.seccomp() : nullptr, profile_path,
                                          "config.linux.security_context.seccomp");
    if (auto seccomp = seccomp_for(choice, caps, "config.linux.security_context.seccomp")) {
      linux["seccomp"] = *seccomp;
    }
  }
  if (!rootfs_propagation.empty()) linux["rootfsPropagation"] = rootfs_propagation;
  out["linux"] = linux;

  const auto& m = pod_config.metadata();
  out["annotations"] = {{"io.kubernetes.cri.container-type", "container"},
                        {"io.kubernetes.cri.sandbox-id", pod.id()},
                        {"io.kubernetes.cri.sandbox-namespace", m.namespace_()},
                        {"io.kubernetes.cri.sandbox-uid", m.uid()},
                        {"io.kubernetes.cri.sandbox-name", m.name()},
                        {"io.kubernetes.cri.container-name", config.metadata().name()},
                        {"io.kubernetes.cri.image-name", in.image_name}};

  // The config's stop signal (the pod spec's lifecycle.stopSignal), else the image's, else TERM.
  std::string stop = string_of(image, "StopSignal");
  spec.stop_signal = isolate::signal_from_name(stop).value_or(SIGTERM);
  if (config.stop_signal() != runtime::v1::SIGNAL_RUNTIME_DEFAULT) {
    auto number = signal_number(config.stop_signal());
    if (!number) {
      throw invalid("stop_signal", "unknown signal " + std::to_string(config.stop_signal()));
    }
    spec.stop_signal = *number;
  }
  return spec;
}

}  // namespace hanok::cri
