// kill, delete, state, list, ps.
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>

#include <cstdlib>
#include <stdexcept>

#include "container_cgroup.hpp"
#include "isolate/error.hpp"
#include "isolate/files.hpp"
#include "isolate/log.hpp"
#include "isolate/namespaces.hpp"
#include "isolate/process.hpp"
#include "oci/hooks.hpp"
#include "oci/resources.hpp"
#include "oci/runtime.hpp"

namespace hanok::oci {

Spec Runtime::spec_of(const std::string& id) const {
  return parse_spec(store_.load(id).config_json);
}

Status Runtime::status(const ContainerState& state) const {
  Status status = store_.status_of(state);
  if (status == Status::Running || status == Status::Created) {
    auto cgroup = open_container_cgroup(state);
    if (cgroup && cgroup->exists() && cgroup->frozen()) return Status::Paused;
  }
  return status;
}

std::vector<pid_t> Runtime::pids(const std::string& id) const {
  ContainerState state = store_.load(id);
  if (auto cgroup = open_container_cgroup(state); cgroup && cgroup->exists()) {
    return cgroup->processes();
  }
  std::vector<pid_t> result;
  if (!isolate::process_alive(state.pid, state.pid_start_time)) return result;
  std::string init_ns = "/proc/" + std::to_string(state.pid) + "/ns/pid";
  // A container with its own pid namespace: every process in that namespace. One that shares
  // the host's: its init only (cgroup membership refines this).
  if (isolate::same_namespace(init_ns, "/proc/self/ns/pid")) return {state.pid};
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) isolate::throw_sys("opendir", "/proc");
  while (dirent* entry = ::readdir(proc)) {
    char* end = nullptr;
    long pid = std::strtol(entry->d_name, &end, 10);
    if (pid <= 0 || *end != '\0') continue;
    if (isolate::same_namespace("/proc/" + std::string(entry->d_name) + "/ns/pid", init_ns)) {
      result.push_back(static_cast<pid_t>(pid));
    }
  }
  ::closedir(proc);
  return result;
}

namespace {
using isolate::Error;
using isolate::ErrorKind;

// The container's processes die with its init when it has a pid namespace of its own; otherwise
// (the host's, or one joined by path) only its cgroup knows them.
bool owns_pid_namespace(const Spec& spec) {
  const Namespace* pid = spec.linux.find_namespace(isolate::NamespaceType::Pid);
  return pid != nullptr && pid->path.empty();
}

// A pidfd on the container's init while it is the process the state names (never a reused pid);
// invalid once the init is gone.
isolate::UniqueFd live_init_pidfd(const ContainerState& state) {
  isolate::UniqueFd pidfd;
  try {
    pidfd = isolate::open_pidfd(state.pid);
  } catch (const isolate::SysError& e) {
    if (e.error_code() == ESRCH) return {};
    throw;
  }
  // The pidfd pins the process: check it is still ours, then signal through it.
  if (!isolate::process_alive(state.pid, state.pid_start_time)) return {};
  return pidfd;
}

// A frozen process dies only once thawed: a SIGKILLed paused container is thawed, as runc does.
void thaw_if_frozen(const ContainerState& state) {
  auto cgroup = open_container_cgroup(state);
  if (cgroup && cgroup->exists() && cgroup->frozen()) cgroup->thaw();
}

// SIGKILL to the init, waiting until it is gone.
void kill_init(const ContainerState& state) {
  isolate::UniqueFd pidfd = live_init_pidfd(state);
  if (!pidfd) return;
  if (isolate::send_signal(pidfd.get(), SIGKILL) != 0 && errno != ESRCH) {
    isolate::throw_sys("kill the init of container", state.id);
  }
  thaw_if_frozen(state);
  if (!isolate::wait_pidfd_exit(pidfd.get(), 10000)) {
    throw Error(ErrorKind::Internal, "container init still running");
  }
}
}  // namespace

void Runtime::kill(const std::string& id, int signal, bool all) {
  ContainerState state = store_.load(id);
  if (all) {
    // Also after the init exited (containerd's shim kills what is left of a shared pid
    // namespace): whatever is in the cgroup.
    auto cgroup = open_container_cgroup(state);
    if (cgroup && cgroup->exists()) cgroup->kill_all(signal);
    return;
  }
  isolate::UniqueFd pidfd;
  if (status(state) != Status::Stopped) pidfd = live_init_pidfd(state);
  if (!pidfd) throw Error(ErrorKind::NotRunning, "container not running");
  if (isolate::send_signal(pidfd.get(), signal) != 0) {
    if (errno == ESRCH) throw Error(ErrorKind::NotRunning, "container not running");
    isolate::throw_sys("kill container", id);
  }
  if (signal == SIGKILL) thaw_if_frozen(state);
}

void Runtime::destroy(const ContainerState& state, const Spec& spec) {
  if (auto cgroup = open_container_cgroup(state); cgroup && cgroup->exists()) {
    if (!owns_pid_namespace(spec)) {
      try {
        cgroup->kill_all(SIGKILL);
      } catch (const std::exception& e) {
        isolate::log_warning(std::string("delete: ") + e.what());
      }
    }
    // A cgroup hanok did not make (the kubelet's, an operator's) stays where it was.
    if (state.cgroup_created) {
      try {
        cgroup->destroy();
      } catch (const std::exception& e) {
        isolate::log_warning(std::string("delete: removing the cgroup: ") + e.what());
      }
    }
  }
  store_.remove(state.id);
  run_hooks_warn_only(spec.hooks.poststop, "poststop", state_json(state, Status::Stopped).dump());
}

void Runtime::remove(const std::string& id, bool force) {
  ContainerLock lock;
  ContainerState state;
  try {
    lock = store_.lock(id);
    state = store_.load(id);
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::NotFound) throw;
    // A directory without state (a create that was killed half way) goes too, as runc's does.
    isolate::remove_tree(store_.dir_of(id));
    if (force) return;
    throw;
  }
  Status current = status(state);
  if ((current == Status::Running || current == Status::Paused) && !force) {
    throw Error(ErrorKind::WrongState,
                "cannot delete container " + id + " that is not stopped: " + status_name(current));
  }
  Spec spec = parse_spec(state.config_json);
  if (current != Status::Stopped) kill_init(state);
  destroy(state, spec);
}

nlohmann::json Runtime::state(const std::string& id) const {
  ContainerState state = store_.load(id);
  Status status = this->status(state);
  nlohmann::json doc = {{"ociVersion", "1.2.0"},
                        {"id", state.id},
                        {"pid", status == Status::Stopped ? 0 : state.pid},
                        {"status", status_name(status)},
                        {"bundle", state.bundle},
                        {"rootfs", state.rootfs},
                        {"created", state.created},
                        {"owner", state.owner}};
  if (!state.annotations.empty()) doc["annotations"] = state.annotations;
  return doc;
}

namespace {
std::unique_ptr<isolate::cgroup::Cgroup> require_cgroup(const ContainerState& state) {
  auto cgroup = open_container_cgroup(state);
  if (!cgroup || !cgroup->exists()) {
    throw isolate::Error(isolate::ErrorKind::WrongState,
                         "container " + state.id + " has no cgroup");
  }
  return cgroup;
}
}  // namespace

void Runtime::pause(const std::string& id) {
  ContainerLock lock = store_.lock(id);
  ContainerState state = store_.load(id);
  Status current = status(state);
  if (current != Status::Running && current != Status::Created) {
    throw Error(ErrorKind::NotRunning, "container not running");
  }
  require_cgroup(state)->freeze();
}

void Runtime::resume(const std::string& id) {
  ContainerLock lock = store_.lock(id);
  ContainerState state = store_.load(id);
  if (status(state) != Status::Paused) throw Error(ErrorKind::WrongState, "container not paused");
  require_cgroup(state)->thaw();
}

void Runtime::update(const std::string& id, const isolate::cgroup::Resources& update) {
  ContainerLock lock = store_.lock(id);
  ContainerState state = store_.load(id);
  if (status(state) == Status::Stopped) throw Error(ErrorKind::NotRunning, "container not running");
  isolate::cgroup::Resources change = update;
  if (!change.devices.empty()) {
    change.devices = device_rules_for(change.devices, parse_spec(state.config_json));
  }
  auto merged = merge_resources(parse_resources(state.resources), change);
  validate_resources(merged);
  // Device rules are written only when the update brings new ones: rewriting them would deny,
  // for a moment, devices the container is using (v1 then writes only the difference).
  isolate::cgroup::Resources to_apply = merged;
  if (update.devices.empty()) to_apply.devices.clear();
  require_cgroup(state)->apply(to_apply);
  state.resources = resources_to_json(merged);
  store_.save(state);
}

isolate::cgroup::Stats Runtime::stats(const std::string& id) const {
  return require_cgroup(store_.load(id))->stats();
}

std::vector<nlohmann::json> Runtime::list() const {
  std::vector<nlohmann::json> result;
  for (const auto& id : store_.list_ids()) {
    try {
      result.push_back(state(id));
    } catch (const std::exception& e) {
      isolate::log_warning(std::string("list: ") + e.what());
    }
  }
  return result;
}

}  // namespace hanok::oci
