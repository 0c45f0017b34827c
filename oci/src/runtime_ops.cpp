// kill, delete, state, list, ps.
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>

#include <cstdlib>
#include <stdexcept>

#include "container_cgroup.hpp"
#include "isolate/error.hpp"
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
  if (status == Status::Running) {
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

void Runtime::kill(const std::string& id, int signal, bool all) {
  ContainerState state = store_.load(id);
  Status status = this->status(state);
  if (status == Status::Stopped) {
    throw std::runtime_error("container \"" + id + "\" is not running");
  }
  isolate::UniqueFd pidfd = isolate::open_pidfd(state.pid);
  // The pidfd pins the process: check it is still ours, then signal through it (no pid reuse).
  if (!isolate::process_alive(state.pid, state.pid_start_time)) {
    throw std::runtime_error("container \"" + id + "\" is not running");
  }
  if (all) {
    auto cgroup = open_container_cgroup(state);
    if (cgroup && cgroup->exists()) {
      cgroup->kill_all(signal);
      return;
    }
    for (pid_t pid : pids(id)) {
      if (pid != state.pid) ::kill(pid, signal);
    }
  }
  if (isolate::send_signal(pidfd.get(), signal) != 0 && errno != ESRCH) {
    isolate::throw_sys("kill container", id);
  }
}

void Runtime::destroy(const ContainerState& state, const Spec& spec) {
  if (auto cgroup = open_container_cgroup(state); cgroup && cgroup->exists()) {
    // Processes outside the init's pid namespace (a shared one) die with the cgroup.
    if (!cgroup->processes().empty()) cgroup->kill_all(SIGKILL);
    cgroup->destroy();
  }
  store_.remove(state.id);
  run_hooks_warn_only(spec.hooks.poststop, "poststop", state_json(state, Status::Stopped).dump());
}

void Runtime::remove(const std::string& id, bool force) {
  ContainerState state = store_.load(id);
  Status status = this->status(state);
  if ((status == Status::Running || status == Status::Paused) && !force) {
    throw std::runtime_error("cannot delete container \"" + id +
                             "\": it is running (stop it first, or use --force)");
  }
  if (status != Status::Stopped) {
    isolate::UniqueFd pidfd = isolate::open_pidfd(state.pid);
    if (isolate::process_alive(state.pid, state.pid_start_time)) {
      auto cgroup = open_container_cgroup(state);
      if (cgroup && cgroup->exists()) {
        cgroup->kill_all(SIGKILL);
        if (cgroup->frozen()) cgroup->thaw();
      }
      for (pid_t pid : pids(id)) {
        if (pid != state.pid) ::kill(pid, SIGKILL);
      }
      isolate::send_signal(pidfd.get(), SIGKILL);
      if (!isolate::wait_pidfd_exit(pidfd.get(), 10000)) {
        throw std::runtime_error("container \"" + id + "\" did not die after SIGKILL");
      }
    }
  }
  Spec spec = parse_spec(state.config_json);
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
    throw std::runtime_error("container \"" + state.id + "\" has no cgroup");
  }
  return cgroup;
}
}  // namespace

void Runtime::pause(const std::string& id) {
  ContainerState state = store_.load(id);
  Status current = status(state);
  if (current != Status::Running) {
    throw std::runtime_error("cannot pause container \"" + id + "\": it is " +
                             status_name(current) + ", not running");
  }
  require_cgroup(state)->freeze();
}

void Runtime::resume(const std::string& id) {
  ContainerState state = store_.load(id);
  Status current = status(state);
  if (current != Status::Paused) {
    throw std::runtime_error("cannot resume container \"" + id + "\": it is " +
                             status_name(current) + ", not paused");
  }
  require_cgroup(state)->thaw();
}

void Runtime::update(const std::string& id, const isolate::cgroup::Resources& update) {
  ContainerState state = store_.load(id);
  if (status(state) == Status::Stopped) {
    throw std::runtime_error("cannot update container \"" + id + "\": it is stopped");
  }
  auto merged = merge_resources(parse_resources(state.resources), update);
  validate_resources(merged);
  require_cgroup(state)->apply(merged);
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
