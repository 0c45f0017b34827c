#include "record_index.hpp"

#include <algorithm>

#include "isolate/error.hpp"

namespace hanok::cri {

using isolate::Error;
using isolate::ErrorKind;

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

}  // namespace

RecordIndex::RecordIndex(const std::string& database) : database_(database) {}

void RecordIndex::load() {
  auto pods = database_.pods();
  auto containers = database_.containers();
  std::lock_guard lock(mutex_);
  for (auto& pod : pods) pods_[pod.id()] = std::move(pod);
  for (auto& container : containers) containers_[container.id()] = std::move(container);
}

std::string RecordIndex::resolve_pod(const std::string& id_or_prefix) const {
  std::lock_guard lock(mutex_);
  return resolve_in(pods_, id_or_prefix, "pod sandbox");
}

std::string RecordIndex::resolve_container(const std::string& id_or_prefix) const {
  std::lock_guard lock(mutex_);
  return resolve_in(containers_, id_or_prefix, "container");
}

std::optional<store::PodRecord> RecordIndex::find_pod(const std::string& id) const {
  std::lock_guard lock(mutex_);
  auto it = pods_.find(id);
  if (it == pods_.end()) return std::nullopt;
  return it->second;
}

std::optional<store::ContainerRecord> RecordIndex::find_container(const std::string& id) const {
  std::lock_guard lock(mutex_);
  auto it = containers_.find(id);
  if (it == containers_.end()) return std::nullopt;
  return it->second;
}

std::vector<store::PodRecord> RecordIndex::pods() const {
  std::lock_guard lock(mutex_);
  std::vector<store::PodRecord> all;
  for (const auto& [id, pod] : pods_) all.push_back(pod);
  return all;
}

std::vector<store::ContainerRecord> RecordIndex::containers() const {
  std::lock_guard lock(mutex_);
  std::vector<store::ContainerRecord> all;
  for (const auto& [id, container] : containers_) all.push_back(container);
  return all;
}

std::vector<store::ContainerRecord> RecordIndex::containers_of(const std::string& pod_id) const {
  std::lock_guard lock(mutex_);
  std::vector<store::ContainerRecord> all;
  for (const auto& [id, container] : containers_) {
    if (container.pod_id() == pod_id) all.push_back(container);
  }
  return all;
}

void RecordIndex::save(const store::PodRecord& pod) {
  database_.put(pod);
  std::lock_guard lock(mutex_);
  pods_[pod.id()] = pod;
}

void RecordIndex::save(const store::ContainerRecord& container) {
  database_.put(container);
  {
    std::lock_guard lock(mutex_);
    containers_[container.id()] = container;
  }
  exited_.notify_all();
}

void RecordIndex::forget_pod(const std::string& id) {
  database_.remove_pod(id);
  std::lock_guard lock(mutex_);
  pods_.erase(id);
}

void RecordIndex::forget_container(const std::string& id) {
  database_.remove_container(id);
  {
    std::lock_guard lock(mutex_);
    containers_.erase(id);
  }
  exited_.notify_all();
}

bool RecordIndex::wait_exited(const std::string& id, std::chrono::steady_clock::time_point until,
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
