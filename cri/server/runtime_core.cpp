#include "runtime_core.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <time.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "container_resources.hpp"
#include "cri_convert.hpp"
#include "isolate/cgroup.hpp"
#include "isolate/clock.hpp"
#include "isolate/error.hpp"
#include "isolate/files.hpp"
#include "isolate/in_root.hpp"
#include "isolate/unix_socket.hpp"
#include "pod_network.hpp"
#include "pod_resources.hpp"

namespace hanok::cri {

using isolate::Error;
using isolate::ErrorKind;

std::string pod_name_key(const runtime::v1::PodSandboxMetadata& m) {
  return m.name() + "_" + m.namespace_() + "_" + m.uid() + "_" + std::to_string(m.attempt());
}

std::string container_name_key(const runtime::v1::ContainerMetadata& c,
                               const runtime::v1::PodSandboxMetadata& pod) {
  return c.name() + "_" + pod.name() + "_" + pod.namespace_() + "_" + pod.uid() + "_" +
         std::to_string(c.attempt());
}

namespace {
struct ExitRecord {
  int exit_code = 0;
  int64_t finished_at = 0;
};

std::optional<ExitRecord> read_exit_file(const std::string& path) {
  auto text = isolate::read_file_if_exists(path);
  if (!text) return std::nullopt;
  auto json = nlohmann::json::parse(*text, nullptr, false);
  if (json.is_discarded() || !json.is_object()) return std::nullopt;
  ExitRecord exit;
  exit.exit_code = json.value("exit_code", 255);
  exit.finished_at = json.value("finished_at_ns", int64_t{0});
  if (exit.finished_at == 0) exit.finished_at = isolate::unix_now_ns();
  return exit;
}

}  // namespace

RuntimeCore::RuntimeCore(const DaemonConfig& config, images::ImageStore& images,
                         const std::atomic<bool>& stopping)
    : config_(config),
      images_(images),
      stopping_(stopping),
      helpers_(locate_helpers(config.runtime_path, config.monitor_path)),
      runtime_(helpers_.runtime, config.state + "/runtime"),
      exec_output_budget_(static_cast<size_t>(config.exec_sync_buffer_limit)),
      checkpoint_signer_(config.root),
      records_(config.root + "/metadata.db") {
  for (const char* sub : {"/pods", "/containers", "/exits", "/runtime"}) {
    isolate::make_dirs(config_.state + sub, 0711);
  }
  // Watch first, then look at what is there, then deliver: no exit falls between the two, and
  // none is handled before the records it concerns are loaded.
  ExitWatcher::Callbacks callbacks;
  // Each container's exit on a worker of its own (bounded): one whose delete hangs delays no
  // other's, as containerd's goroutine per container.
  exit_workers_ = std::make_unique<KeyedWorkers>(kExitWorkers);
  callbacks.on_exit = [this](const std::string& id) {
    if (id.empty()) {
      check_exits();
    } else {
      queue_exit(id);
    }
  };
  callbacks.on_monitor_gone = [this](const std::string& id) {
    exit_workers_->submit(id, [this, id] { handle_monitor_gone(id); });
  };
  watcher_ = std::make_unique<ExitWatcher>(config_.state + "/exits", std::move(callbacks));
  recover();
  watcher_->start();
  stats_ = std::make_unique<StatsCollector>(
      images_.snapshots().root() + "/containers", [this] { return stats_targets(); },
      std::chrono::milliseconds(config_.stats_collect_period_ms));
  stats_->start();
}

RuntimeCore::~RuntimeCore() {
  stats_.reset();
  // The exits being handled finish while the watcher they use is still there; then no more come.
  exit_workers_->stop();
  watcher_.reset();
  exit_workers_.reset();
}

void RuntimeCore::queue_exit(const std::string& id) {
  exit_workers_->submit(id, [this, id] { handle_exit(id); });
}

void RuntimeCore::delete_after_exit(const std::string& id, int attempt) {
  try {
    runtime_.remove(id, true, kExitDeleteTimeout);
    return;
  } catch (const std::exception& e) {
    spdlog::warn("container {}: deleting it from the runtime after its exit (attempt {}): {}", id,
                 attempt, e.what());
  }
  if (attempt >= kExitDeleteAttempts) return;  // RemoveContainer deletes it again
  // Again later, on a worker, backing off: 1 s, 2 s, 4 s...
  auto when = KeyedWorkers::Clock::now() + std::chrono::seconds(1 << (attempt - 1));
  exit_workers_->submit_at(id, when, [this, id, attempt] {
    if (!find_container(id)) return;  // removed meanwhile (and its lock forgotten)
    IdLock lock = locks_.lock(id);
    auto container = find_container(id);
    if (!container || container->state() != runtime::v1::CONTAINER_EXITED) return;
    if (runtime_.status(id).empty()) return;  // gone from the runtime meanwhile
    delete_after_exit(id, attempt + 1);
  });
}

StatsCollector::Targets RuntimeCore::stats_targets() const {
  StatsCollector::Targets targets;
  for (const auto& container : containers()) {
    targets.layers.emplace_back(container.id(),
                                images_.snapshots().container_upper_dir(container.id()));
    if (container.state() == runtime::v1::CONTAINER_RUNNING) {
      targets.cgroups.push_back(container.cgroup_path());
    }
  }
  for (const auto& pod : pods()) {
    if (pod.state() == runtime::v1::SANDBOX_READY) targets.cgroups.push_back(pod.cgroup_path());
  }
  return targets;
}

void RuntimeCore::set_pod_cidr(const std::string& cidr) {
  std::lock_guard lock(mutex_);
  pod_cidr_ = cidr;
}

std::string RuntimeCore::pod_cidr() const {
  std::lock_guard lock(mutex_);
  return pod_cidr_;
}

std::string RuntimeCore::pod_dir(const std::string& id) const {
  return config_.state + "/pods/" + id;
}
std::string RuntimeCore::bundle_dir(const std::string& id) const {
  return config_.state + "/containers/" + id;
}

std::string RuntimeCore::restore_dir(const std::string& id) const {
  return config_.root + "/restore/" + id;
}
std::string RuntimeCore::exit_file(const std::string& id) const {
  return config_.state + "/exits/" + id + ".json";
}

google::protobuf::RepeatedPtrField<runtime::v1::ContainerStatus> RuntimeCore::containers_statuses(
    const std::string& pod_id) const {
  google::protobuf::RepeatedPtrField<runtime::v1::ContainerStatus> statuses;
  for (const auto& container : containers_of(pod_id)) {
    *statuses.Add() = container_status_of(container);
  }
  return statuses;
}

void RuntimeCore::publish(runtime::v1::ContainerEventType type,
                          const store::ContainerRecord& container) {
  publish_event(type, container.id(), container.pod_id());
}

void RuntimeCore::publish(runtime::v1::ContainerEventType type, const store::PodRecord& pod) {
  publish_event(type, pod.id(), pod.id());
}

void RuntimeCore::publish_event(runtime::v1::ContainerEventType type, const std::string& id,
                                const std::string& pod_id) {
  // As containerd's: the pod's whole status and the statuses of all its containers as they are
  // now, which the kubelet's evented PLEG puts in its cache as the pod's status; an event without
  // a pod status is skipped there.
  if (!events_.has_subscribers()) return;
  // One at a time: events leave in the order of their snapshots, with their times rising (the
  // kubelet's cache keeps a pod's newest status by time).
  std::lock_guard lock(publish_mutex_);
  auto pod = find_pod(pod_id);
  if (!pod) return;
  runtime::v1::ContainerEventResponse event;
  event.set_container_id(id);
  event.set_container_event_type(type);
  event.set_created_at(isolate::unix_now_ns());
  *event.mutable_pod_sandbox_status() = pod_sandbox_status_of(*pod);
  *event.mutable_containers_statuses() = containers_statuses(pod_id);
  events_.publish(std::move(event));
}

void RuntimeCore::handle_exit(const std::string& id) {
  IdLock lock = locks_.lock(id);
  handle_exit_locked(id);
}

void RuntimeCore::handle_exit_locked(const std::string& id) {
  auto container = find_container(id);
  if (!container) {
    // A container removed before its monitor saw the end (a created one, deleted): nobody
    // needs the file.
    ::unlink(exit_file(id).c_str());
    return;
  }
  if (container->state() == runtime::v1::CONTAINER_EXITED) return;
  auto exit = read_exit_file(exit_file(id));
  if (!exit) return;
  bool oom_killed = false;
  if (!container->cgroup_path().empty()) {
    try {
      oom_killed = isolate::cgroup::open_cgroup(container->cgroup_path())->oom_kill_count() > 0;
    } catch (const std::exception& e) {
      spdlog::warn("container {}: reading its OOM kills: {}", id, e.what());
    }
  }
  // Recorded and told first, then deleted from the runtime (bounded, retried with a backoff): a
  // delete that hangs never holds back the exit the kubelet waits for.
  container->set_state(runtime::v1::CONTAINER_EXITED);
  container->set_exit_code(exit->exit_code);
  container->set_finished_at(std::max(exit->finished_at, container->started_at()));
  if (container->reason().empty()) {
    container->set_reason(oom_killed ? "OOMKilled" : exit->exit_code == 0 ? "Completed" : "Error");
  }
  container->set_pid(0);
  save(*container);
  watcher_->forget_monitor(id);
  spdlog::info("container {} exited with code {} ({})", id, exit->exit_code, container->reason());
  publish(runtime::v1::CONTAINER_STOPPED_EVENT, *container);
  delete_after_exit(id, 1);
}

void RuntimeCore::handle_monitor_gone(const std::string& id) {
  IdLock lock = locks_.lock(id);
  auto container = find_container(id);
  if (!container || container->state() == runtime::v1::CONTAINER_EXITED) return;
  if (isolate::path_exists(exit_file(id))) {
    handle_exit_locked(id);
    return;
  }
  spdlog::warn("container {}: its monitor ended without recording the exit", id);
  record_unknown_exit(*container, "the container's monitor ended without recording its exit");
}

void RuntimeCore::record_unknown_exit(store::ContainerRecord& container, const std::string& why) {
  try {
    runtime_.remove(container.id(), true);
  } catch (const std::exception& e) {
    spdlog::debug("container {}: delete: {}", container.id(), e.what());
  }
  container.set_state(runtime::v1::CONTAINER_EXITED);
  container.set_exit_code(255);
  container.set_reason("Unknown");
  container.set_message(why);
  container.set_finished_at(std::max(isolate::unix_now_ns(), container.started_at()));
  container.set_pid(0);
  save(container);
  publish(runtime::v1::CONTAINER_STOPPED_EVENT, container);
}

void RuntimeCore::watch_monitor(const store::ContainerRecord& container) {
  if (auto pidfd = open_monitor(container.monitor_pid(), container.id())) {
    watcher_->watch_monitor(container.id(), std::move(pidfd));
  }
}

}  // namespace hanok::cri
