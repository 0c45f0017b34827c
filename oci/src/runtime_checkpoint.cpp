// checkpoint and restore (runc's commands of those names) through CRIU. The container's own
// namespaces (mount, and PID, IPC, UTS unless joined) go into the images. Network and PID
// namespaces joined by path are external (the pod's), as are bind mounts from the host, masked
// files and the cgroup mount: the restore gives those from the new bundle's config. IPC and UTS
// namespaces joined by path are criu's own for the dump and the restore, so the restored
// process is in the new pod's. The init's stdio pipes are external too, and the restored
// process gets the restoring `hanok`'s stdio in their place (runc's descriptors.json).
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <map>

#include "create_plan.hpp"
#include "criu.hpp"
#include "isolate/clock.hpp"
#include "isolate/error.hpp"
#include "isolate/files.hpp"
#include "isolate/in_root.hpp"
#include "isolate/mountinfo.hpp"
#include "isolate/text.hpp"
#include "oci/runtime.hpp"

namespace hanok::oci {

using isolate::Error;
using isolate::ErrorKind;
using isolate::UniqueFd;

namespace {

void refuse_unsupported(const Spec& spec, const char* operation) {
  if (spec.process && spec.process->terminal) {
    throw Error(ErrorKind::Invalid, std::string(operation) +
                                        ": process.terminal: a container with a terminal "
                                        "cannot be checkpointed or restored by hanok");
  }
  for (const auto& ns : spec.linux.namespaces) {
    if (!ns.path.empty() && ns.type == isolate::NamespaceType::User) {
      throw Error(ErrorKind::Invalid, std::string(operation) + ": linux.namespaces: a joined " +
                                          isolate::oci_name(ns.type) +
                                          " namespace cannot be checkpointed or restored by hanok");
    }
  }
}

// The mount points of `pid` (in its own mount namespace's view), from /proc/<pid>/mountinfo,
// with their filesystem types.
std::map<std::string, std::string> mount_points_of(pid_t pid) {
  std::map<std::string, std::string> points;
  for (auto& mount : isolate::read_mountinfo(pid)) points[mount.mount_point] = mount.fstype;
  return points;
}

bool is_cgroup_mount(const Mount& mount) {
  return mount.type == "cgroup" || mount.type == "cgroup2";
}

// The container's mounts that come from outside its tree: bind mounts of its config and masked
// paths (binds of the host's /dev/null). Keyed by their mount point.
std::vector<std::string> external_mounts(const Spec& spec, pid_t pid) {
  std::map<std::string, std::string> mounted = mount_points_of(pid);
  std::vector<std::string> external;
  auto add = [&](const std::string& point) {
    if (mounted.count(point) != 0 &&
        std::find(external.begin(), external.end(), point) == external.end()) {
      external.push_back(point);
    }
  };
  for (const auto& mount : spec.mounts) {
    if (mount.parsed.bind || mount.type == "bind") add(mount.destination);
  }
  // A masked file is the host's /dev/null bound over it; a masked directory is a tmpfs of the
  // container's own (dumped with it).
  for (const auto& path : spec.linux.masked_paths) {
    auto found = mounted.find(path);
    if (found != mounted.end() && found->second != "tmpfs") add(path);
  }
  // The container's cgroup: on v2 a bind of its own (or a cgroup2 mount in its namespace), on
  // v1 a tmpfs holding a bind per hierarchy.
  for (const auto& mount : spec.mounts) {
    if (!is_cgroup_mount(mount)) continue;
    add(mount.destination);
    for (const auto& [point, type] : mounted) {
      if (point.rfind(mount.destination + "/", 0) == 0) add(point);
    }
  }
  return external;
}

// The source a restore gives for the external mount `point`: the new config's bind source, or
// /dev/null for a masked path.
std::string external_mount_source(const Spec& spec, const std::string& point,
                                  const isolate::cgroup::Cgroup& cgroup) {
  for (const auto& mount : spec.mounts) {
    if ((mount.parsed.bind || mount.type == "bind") && mount.destination == point) {
      return mount.source;
    }
  }
  for (const auto& path : spec.linux.masked_paths) {
    if (path == point) return "/dev/null";
  }
  for (const auto& mount : spec.mounts) {
    if (!is_cgroup_mount(mount)) continue;
    for (const auto& dir : cgroup.hierarchy_dirs()) {
      if (point == (dir.name.empty() ? mount.destination : mount.destination + "/" + dir.name)) {
        return dir.dir;
      }
    }
  }
  throw Error(ErrorKind::Invalid, "restore: mounts: the checkpoint has a bind mount on " + point +
                                      " and the bundle's config has none there");
}

ino_t inode_of(const std::string& path, const std::string& what) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) isolate::throw_sys(what, path);
  return st.st_ino;
}

// The paths of the namespaces criu runs in (see kInheritedNamespaces).
std::vector<std::string> inherited_namespaces(const Spec& spec) {
  std::vector<std::string> paths;
  for (auto type : criu::kInheritedNamespaces) {
    const auto* ns = spec.linux.find_namespace(type);
    if (ns != nullptr && !ns->path.empty()) paths.push_back(ns->path);
  }
  return paths;
}

std::string freezer_dir(const isolate::cgroup::Cgroup& cgroup) {
  for (const auto& dir : cgroup.hierarchy_dirs()) {
    if (cgroup.mode() == isolate::cgroup::Mode::Unified ||
        dir.name.find("freezer") != std::string::npos) {
      return dir.dir;
    }
  }
  return {};
}

}  // namespace

void Runtime::checkpoint(const CheckpointOptions& options) {
  if (options.image_path.empty()) throw Error(ErrorKind::Invalid, "--image-path: required");
  ContainerLock lock = store_.lock(options.id);
  ContainerState state = store_.load(options.id);
  Status current = status(state);
  if (current != Status::Running && current != Status::Paused) {
    throw Error(ErrorKind::WrongState,
                "container " + options.id + " is " + status_name(current) + ", not running");
  }
  Spec spec = parse_spec(state.config_json);
  refuse_unsupported(spec, "checkpoint");
  isolate::make_dirs(options.image_path, 0700);
  std::string work = options.work_path.empty() ? options.image_path : options.work_path;
  isolate::make_dirs(work, 0700);

  std::string pid = std::to_string(state.pid);
  nlohmann::json descriptors = nlohmann::json::array();
  for (int fd = 0; fd < 3; ++fd) {
    char target[256];
    std::string link = "/proc/" + pid + "/fd/" + std::to_string(fd);
    ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
    descriptors.push_back(n > 0 ? std::string(target, static_cast<size_t>(n)) : std::string());
  }
  std::vector<std::string> mounts = external_mounts(spec, state.pid);
  isolate::write_file_atomic(options.image_path + "/" + criu::kDescriptorsFile, descriptors.dump(),
                             0600);
  isolate::write_file_atomic(options.image_path + "/" + criu::kExternalMountsFile,
                             nlohmann::json(mounts).dump(), 0600);

  std::vector<std::string> args = {"dump",       "--tree", pid, "--images-dir", options.image_path,
                                   "--work-dir", work};
  if (options.leave_running) args.push_back("--leave-running");
  if (options.tcp_established) args.push_back("--tcp-established");
  if (options.file_locks) args.push_back("--file-locks");
  if (options.ext_unix_sk) args.push_back("--ext-unix-sk");
  for (const auto& point : mounts) {
    args.insert(args.end(),
                {"--external", std::string("mnt[").append(point).append("]:").append(point)});
  }
  for (const auto& [type, key] : criu::kExternalNamespaces) {
    const auto* ns = spec.linux.find_namespace(type);
    if (ns == nullptr || ns->path.empty()) continue;
    std::string own = "/proc/" + pid + "/ns/" + isolate::proc_ns_name(type);
    args.insert(args.end(),
                {"--external", std::string(isolate::proc_ns_name(type)) + "[" +
                                   std::to_string(inode_of(own, "the container's namespace")) +
                                   "]:" + key});
  }
  if (current == Status::Paused) {
    auto cgroup = isolate::cgroup::open_cgroup(state.cgroup);
    std::string dir = freezer_dir(*cgroup);
    if (!dir.empty()) args.insert(args.end(), {"--freeze-cgroup", dir});
  }
  criu::run(args, {}, work + "/dump.log", "checkpoint " + options.id, nullptr,
            inherited_namespaces(spec));
}

namespace {
// CRIU leaves the restored processes stopped: each must have the container's root as its root
// and its working directory inside it (the images say where they were; an archive restored
// unsigned, or the checkpoint of a container that had got out, could say the host), and only
// then do they run on.
void resume_if_confined(const isolate::cgroup::Cgroup& cgroup, const std::string& rootfs) {
  struct stat root {};
  if (::stat(rootfs.c_str(), &root) != 0) isolate::throw_sys("stat the rootfs", rootfs);
  std::vector<pid_t> restored = cgroup.processes();
  if (restored.empty()) throw Error(ErrorKind::Internal, "restore: no process was restored");
  for (pid_t pid : restored) {
    if (!isolate::process_confined_to(pid, root)) {
      throw Error(ErrorKind::Invalid,
                  "restore: restored process " + std::to_string(pid) +
                      " has its root or working directory outside the container's root");
    }
  }
  for (pid_t pid : restored) ::kill(pid, SIGCONT);
}
}  // namespace

void Runtime::restore(const RestoreOptions& options) {
  if (options.image_path.empty()) throw Error(ErrorKind::Invalid, "--image-path: required");
  CreatePlan made = plan_create(options.create, systemd_cgroup_);
  const Spec& spec = made.spec;
  refuse_unsupported(spec, "restore");
  std::string work = options.work_path.empty() ? options.image_path : options.work_path;
  isolate::make_dirs(work, 0700);
  auto descriptors =
      nlohmann::json::parse(isolate::read_file(options.image_path + "/" + criu::kDescriptorsFile));
  auto mounts = nlohmann::json::parse(
      isolate::read_file(options.image_path + "/" + criu::kExternalMountsFile));

  std::vector<std::string> args = {"restore",
                                   "--images-dir",
                                   options.image_path,
                                   "--work-dir",
                                   work,
                                   "--root",
                                   made.rootfs,
                                   "--restore-detached",
                                   "--leave-stopped",
                                   "--manage-cgroups=ignore",
                                   "--mntns-compat-mode"};
  std::string pid_file = work + "/restore.pid";
  ::unlink(pid_file.c_str());
  args.insert(args.end(), {"--pidfile", pid_file});
  if (options.tcp_established) args.push_back("--tcp-established");
  if (options.file_locks) args.push_back("--file-locks");
  if (options.ext_unix_sk) args.push_back("--ext-unix-sk");
  auto cgroup = isolate::cgroup::open_cgroup(made.cgroup);
  for (const auto& point : mounts) {
    args.insert(args.end(),
                {"--external", "mnt[" + point.get<std::string>() + "]:" +
                                   external_mount_source(spec, point.get<std::string>(), *cgroup)});
  }
  // The fds criu gets, at 3, 4, ...: the process's stdio (this process's own 0-2 in place of
  // the pipes it had), then the network namespace it joins.
  std::vector<int> pass_fds;
  for (int fd = 0; fd < 3 && fd < static_cast<int>(descriptors.size()); ++fd) {
    std::string name = descriptors[fd].get<std::string>();
    if (name.rfind("pipe:", 0) != 0 && name.rfind("socket:", 0) != 0) continue;
    args.insert(args.end(),
                {"--inherit-fd", "fd[" + std::to_string(3 + pass_fds.size()) + "]:" + name});
    pass_fds.push_back(fd);
  }
  std::vector<UniqueFd> namespaces;
  for (const auto& [type, key] : criu::kExternalNamespaces) {
    const auto* ns = spec.linux.find_namespace(type);
    if (ns == nullptr || ns->path.empty()) continue;
    UniqueFd fd(::open(ns->path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
      isolate::throw_sys(
          std::string("linux.namespaces: open the ") + isolate::oci_name(type) + " namespace",
          ns->path);
    }
    args.insert(args.end(),
                {"--inherit-fd", "fd[" + std::to_string(3 + pass_fds.size()) + "]:" + key});
    pass_fds.push_back(fd.get());
    namespaces.push_back(std::move(fd));
  }

  ContainerLock lock = store_.create_locked(options.create.id);
  CreationGuard guard(store_, options.create.id);
  if (!cgroup->exists()) guard.set_created_cgroup(cgroup.get());
  bool cgroup_made = cgroup->create();
  if (!cgroup_made) {
    guard.set_created_cgroup(nullptr);
    refuse_busy_cgroup(*cgroup);
  }
  cgroup->apply(made.resources);
  // CRIU (with --manage-cgroups=ignore) restores the tree into its own cgroup: this one.
  criu::run(args, pass_fds, work + "/restore.log", "restore " + options.create.id, cgroup.get(),
            inherited_namespaces(spec));
  auto pid = isolate::parse_i64(isolate::read_file(pid_file));
  if (!pid || *pid <= 0) throw Error(ErrorKind::Internal, "restore: criu wrote no pid");
  guard.set_pid(static_cast<pid_t>(*pid));
  resume_if_confined(*cgroup, made.rootfs);

  ContainerState state = new_state(made, Status::Running, static_cast<pid_t>(*pid), cgroup_made);
  store_.save(state);
  write_pid_file(options.create.pid_file, state.pid);
  guard.commit();
}

}  // namespace hanok::oci
