// Restart recovery: what hanokd finds at its start, made to agree with its records. Containers
// and pods lived on without it; some exited meanwhile; an interrupted create or run may have
// left pieces without a record.
#include <dirent.h>
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "container_resources.hpp"
#include "isolate/cgroup.hpp"
#include "isolate/clock.hpp"
#include "isolate/error.hpp"
#include "isolate/files.hpp"
#include "isolate/in_root.hpp"
#include "isolate/process.hpp"
#include "isolate/unix_socket.hpp"
#include "pod_network.hpp"
#include "pod_resources.hpp"
#include "runtime_core.hpp"

namespace hanok::cri {

namespace {
bool monitor_alive(const std::string& bundle) {
  try {
    isolate::UniqueFd dir(::open(bundle.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!dir) return false;
    isolate::connect_unix(isolate::fd_path(dir.get()) + "/monitor.sock", SOCK_SEQPACKET);
    return true;
  } catch (const std::exception&) {
    return false;
  }
}
}  // namespace

isolate::UniqueFd open_monitor(pid_t pid, const std::string& id) {
  if (pid <= 0) return {};
  isolate::UniqueFd pidfd;
  try {
    pidfd = isolate::open_pidfd(pid);
  } catch (const isolate::SysError&) {
    return {};
  }
  // The pid is the monitor of this container only if its command line says so (a pid is reused
  // once its process is gone); the pidfd taken before the check stays on that process.
  auto cmdline = isolate::read_file_if_exists("/proc/" + std::to_string(pid) + "/cmdline");
  std::string wanted = std::string("container") + '\0' + "--id" + '\0' + id + '\0';
  if (!cmdline || cmdline->find(wanted) == std::string::npos) return {};
  return pidfd;
}

void RuntimeCore::check_exits() {
  for (const auto& container : containers()) {
    if (container.state() != runtime::v1::CONTAINER_EXITED &&
        isolate::path_exists(exit_file(container.id()))) {
      queue_exit(container.id());
    }
  }
}

void RuntimeCore::recover() {
  records_.load();
  for (const auto& pod : pods()) {
    pod_names_.reserve(pod_name_key(pod.config().metadata()), pod.id());
  }
  for (const auto& container : containers()) {
    if (auto pod = find_pod(container.pod_id())) {
      container_names_.reserve(
          container_name_key(container.config().metadata(), pod->config().metadata()),
          container.id());
    }
  }
  // Pods whose namespaces are gone (the node rebooted: the state dir is a tmpfs) are not ready.
  for (auto pod : pods()) {
    if (pod.state() != runtime::v1::SANDBOX_READY) continue;
    if (!pod_namespaces_intact(*this, pod)) {
      spdlog::warn("pod {}: its namespaces are gone; it is not ready any more", pod.id());
      try {
        detach_pod_network(cni_context(), pod);
      } catch (const std::exception& e) {
        spdlog::warn("pod {}: {}", pod.id(), e.what());
      }
      release_pod_namespaces(*this, pod);
      pod.set_state(runtime::v1::SANDBOX_NOTREADY);
      save(pod);
    }
  }
  size_t running = 0;
  for (const auto& listed : containers()) {
    const std::string& id = listed.id();
    if (listed.state() == runtime::v1::CONTAINER_EXITED) continue;
    // Restored by a RestorePod and not started: nothing runs yet.
    if (listed.state() == runtime::v1::CONTAINER_CREATED && listed.monitor_pid() == 0 &&
        !listed.restore_from().empty()) {
      continue;
    }
    // The socket before the exit file: a monitor writes its exit file, then removes its socket.
    bool alive = monitor_alive(listed.bundle());
    if (isolate::path_exists(exit_file(id))) {
      handle_exit(id);
      continue;
    }
    IdLock lock = locks_.lock(id);
    auto container = find_container(id);
    if (!container) continue;
    if (!alive) {
      // Its monitor died without an exit file (killed, or the node rebooted): its end is unknown.
      spdlog::warn("container {}: its monitor is gone; it is recorded as exited (code 255)", id);
      record_unknown_exit(*container, "the container's monitor ended without recording its exit");
      continue;
    }
    ++running;
    watch_monitor(*container);
    // A StartContainer cut short after the runtime started it: it runs.
    if (container->state() == runtime::v1::CONTAINER_CREATED && runtime_.status(id) == "running") {
      spdlog::warn("container {}: started before hanokd stopped; it is recorded as running", id);
      container->set_state(runtime::v1::CONTAINER_RUNNING);
      container->set_started_at(isolate::unix_now_ns());
      save(*container);
    }
  }
  clean_orphans();
  spdlog::info("recovered {} pods and {} containers ({} running)", pods().size(),
               containers().size(), running);
}

// What a daemon killed in the middle of a RunPodSandbox or CreateContainer left without a
// record: a pod dir, a bundle, a rootfs, a lease.
void RuntimeCore::clean_orphans() {
  for (const auto& id : isolate::list_dir(config_.state + "/containers")) {
    if (find_container(id)) continue;
    spdlog::warn("container {}: left by an interrupted create; removing it", id);
    release_container_resources(*this, id);
  }
  for (const auto& id : isolate::list_dir(images_.snapshots().root() + "/containers")) {
    if (find_container(id)) continue;
    release_container_resources(*this, id);
  }
  for (const auto& id : isolate::list_dir(config_.root + "/restore")) {
    if (find_container(id)) continue;
    release_container_resources(*this, id);
  }
  for (const auto& id : isolate::list_dir(config_.state + "/pods")) {
    if (find_pod(id)) continue;
    spdlog::warn("pod {}: left by an interrupted run; removing it", id);
    store::PodRecord orphan;
    orphan.set_id(id);
    orphan.set_dir(pod_dir(id));
    orphan.set_shm_mounted(true);
    // The cgroup hanokd makes for a pod without a parent of its own (a kubelet's parent is the
    // kubelet's): removed if it is there and empty.
    orphan.set_cgroup_path(config_.cgroup_driver == "systemd"
                               ? isolate::cgroup::expand_slice("hanok-" + id + ".slice")
                               : "/hanok/" + id);
    orphan.set_cgroup_created(true);
    remove_pod_resources(*this, orphan);
  }
  // A network ADD whose pod was never recorded (a run killed in between, then perhaps a reboot
  // that took its pod dir): DEL from the cache, so that its address goes back to the pool.
  for (const auto& id : cached_pod_networks(cni_context())) {
    if (find_pod(id)) continue;
    spdlog::warn("pod {}: a network left by an interrupted run; detaching it", id);
    store::PodRecord orphan;
    orphan.set_id(id);
    orphan.set_dir(pod_dir(id));
    try {
      detach_pod_network(cni_context(), orphan);
    } catch (const std::exception& e) {
      spdlog::warn("pod {}: {}", id, e.what());
    }
  }
  for (const auto& name : isolate::list_dir(config_.state + "/exits")) {
    std::string id = name.substr(0, name.find('.'));
    if (!find_container(id)) ::unlink((config_.state + "/exits/" + name).c_str());
  }
}

}  // namespace hanok::cri
