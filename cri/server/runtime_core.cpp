#include "runtime_core.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "container_resources.hpp"
#include "isolate/cgroup.hpp"
#include "isolate/error.hpp"
#include "isolate/files.hpp"
#include "isolate/in_root.hpp"
#include "isolate/unix_socket.hpp"
#include "pod_network.hpp"
#include "pod_resources.hpp"

namespace hanok::cri {

using isolate::Error;
using isolate::ErrorKind;

int64_t now_ns() {
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  return static_cast<int64_t>(now.tv_sec) * 1000000000 + now.tv_nsec;
}

std::string new_id() {
  unsigned char bytes[32];
  size_t got = 0;
  while (got < sizeof bytes) {
    ssize_t n = ::getrandom(bytes + got, sizeof bytes - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) isolate::throw_sys("getrandom for a new id");
    got += static_cast<size_t>(n);
  }
  static const char* hex = "0123456789abcdef";
  std::string id;
  for (unsigned char b : bytes) {
    id += hex[b >> 4];
    id += hex[b & 15];
  }
  return id;
}

std::string pod_name_key(const runtime::v1::PodSandboxMetadata& m) {
  return m.name() + "_" + m.namespace_() + "_" + m.uid() + "_" + std::to_string(m.attempt());
}

std::string container_name_key(const runtime::v1::ContainerMetadata& c,
                               const runtime::v1::PodSandboxMetadata& pod) {
  return c.name() + "_" + pod.name() + "_" + pod.namespace_() + "_" + pod.uid() + "_" +
         std::to_string(c.attempt());
}

namespace {
template <typename Map>
std::string resolve_in(const Map& map, const std::string& id_or_prefix, const char* what) {
  if (id_or_prefix.empty()) throw Error(ErrorKind::Invalid, std::string(what) + " id is empty");
  if (map.count(id_or_prefix) != 0) return id_or_prefix;
  std::string found;
  for (auto it = map.lower_bound(id_or_prefix);
       it != map.end() && it->first.compare(0, id_or_prefix.size(), id_or_prefix) == 0; ++it) {
    if (!found.empty()) {
      throw Error(ErrorKind::Invalid, std::string(what) + " id prefix \"" + id_or_prefix +
                                          "\" matches more than one " + what);
    }
    found = it->first;
  }
  if (found.empty()) {
    throw Error(ErrorKind::NotFound, std::string(what) + " \"" + id_or_prefix + "\" not found");
  }
  return found;
}

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
  if (exit.finished_at == 0) exit.finished_at = now_ns();
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
  callbacks.on_exit = [this](const std::string& id) {
    if (id.empty()) {
      check_exits();
    } else {
      handle_exit(id);
    }
  };
  callbacks.on_monitor_gone = [this](const std::string& id) { handle_monitor_gone(id); };
  watcher_ = std::make_unique<ExitWatcher>(config_.state + "/exits", std::move(callbacks));
  recover();
  watcher_->start();
}

RuntimeCore::~RuntimeCore() {
  watcher_.reset();
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

std::string RuntimeCore::resolve_pod(const std::string& id_or_prefix) const {
  std::lock_guard lock(mutex_);
  return resolve_in(pods_, id_or_prefix, "pod sandbox");
}

std::string RuntimeCore::resolve_container(const std::string& id_or_prefix) const {
  std::lock_guard lock(mutex_);
  return resolve_in(containers_, id_or_prefix, "container");
}

std::optional<store::PodRecord> RuntimeCore::find_pod(const std::string& id) const {
  std::lock_guard lock(mutex_);
  auto it = pods_.find(id);
  if (it == pods_.end()) return std::nullopt;
  return it->second;
}

std::optional<store::ContainerRecord> RuntimeCore::find_container(const std::string& id) const {
  std::lock_guard lock(mutex_);
  auto it = containers_.find(id);
  if (it == containers_.end()) return std::nullopt;
  return it->second;
}

std::vector<store::PodRecord> RuntimeCore::pods() const {
  std::lock_guard lock(mutex_);
  std::vector<store::PodRecord> all;
  for (const auto& [id, pod] : pods_) all.push_back(pod);
  return all;
}

std::vector<store::ContainerRecord> RuntimeCore::containers() const {
  std::lock_guard lock(mutex_);
  std::vector<store::ContainerRecord> all;
  for (const auto& [id, container] : containers_) all.push_back(container);
  return all;
}

std::vector<store::ContainerRecord> RuntimeCore::containers_of(const std::string& pod_id) const {
  std::lock_guard lock(mutex_);
  std::vector<store::ContainerRecord> all;
  for (const auto& [id, container] : containers_) {
    if (container.pod_id() == pod_id) all.push_back(container);
  }
  return all;
}

void RuntimeCore::save(const store::PodRecord& pod) {
  records_.put(pod);
  std::lock_guard lock(mutex_);
  pods_[pod.id()] = pod;
}

void RuntimeCore::save(const store::ContainerRecord& container) {
  records_.put(container);
  {
    std::lock_guard lock(mutex_);
    containers_[container.id()] = container;
  }
  exited_.notify_all();
}

void RuntimeCore::forget_pod(const std::string& id) {
  records_.remove_pod(id);
  std::lock_guard lock(mutex_);
  pods_.erase(id);
}

void RuntimeCore::forget_container(const std::string& id) {
  records_.remove_container(id);
  {
    std::lock_guard lock(mutex_);
    containers_.erase(id);
  }
  exited_.notify_all();
}

void RuntimeCore::publish(runtime::v1::ContainerEventType type,
                          const store::ContainerRecord& container) {
  runtime::v1::ContainerEventResponse event;
  event.set_container_id(container.id());
  event.set_container_event_type(type);
  event.set_created_at(now_ns());
  if (auto pod = find_pod(container.pod_id())) {
    auto* status = event.mutable_pod_sandbox_status();
    status->set_id(pod->id());
    *status->mutable_metadata() = pod->config().metadata();
    status->set_state(pod->state());
    status->set_created_at(pod->created_at());
  }
  events_.publish(event);
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
  try {
    runtime_.remove(id, true);
  } catch (const std::exception& e) {
    spdlog::warn("container {}: deleting it from the runtime after its exit: {}", id, e.what());
  }
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
  container.set_finished_at(std::max(now_ns(), container.started_at()));
  container.set_pid(0);
  save(container);
  publish(runtime::v1::CONTAINER_STOPPED_EVENT, container);
}

void RuntimeCore::watch_monitor(const store::ContainerRecord& container) {
  if (auto pidfd = open_monitor(container.monitor_pid(), container.id())) {
    watcher_->watch_monitor(container.id(), std::move(pidfd));
  }
}

bool RuntimeCore::wait_exited(const std::string& id, std::chrono::steady_clock::time_point until,
                              const images::StopToken& stop) {
  std::unique_lock lock(mutex_);
  for (;;) {
    auto it = containers_.find(id);
    if (it == containers_.end() || it->second.state() == runtime::v1::CONTAINER_EXITED) {
      return true;
    }
    auto now = std::chrono::steady_clock::now();
    if (now >= until || stop.reason()) return false;
    // Woken by every save; the stop token is looked at every 100 ms.
    exited_.wait_until(lock, std::min(until, now + std::chrono::milliseconds(100)));
  }
}

}  // namespace hanok::cri
