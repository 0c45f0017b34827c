// Private to cri/: the pods' and containers' records as every call reads them: kept in the
// metadata database (RecordStore) and, for reading, in memory. A change is persisted first, then
// shown to the others; waiters for a container's exit wake on every change of a container.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "images/stop_token.hpp"
#include "record_store.hpp"
#include "store.pb.h"

namespace hanok::cri {

class RecordIndex {
 public:
  // Opens the database at `database` (the image store's metadata.db); load() reads it.
  explicit RecordIndex(const std::string& database);
  RecordIndex(const RecordIndex&) = delete;
  RecordIndex& operator=(const RecordIndex&) = delete;

  // Every record of the database, into memory (once, at the start).
  void load();

  // The full id of a pod or container given by id or unique id prefix; Error NotFound naming
  // `what` otherwise (Invalid for an empty one, or a prefix of more than one).
  std::string resolve_pod(const std::string& id_or_prefix) const;
  std::string resolve_container(const std::string& id_or_prefix) const;
  std::optional<store::PodRecord> find_pod(const std::string& id) const;
  std::optional<store::ContainerRecord> find_container(const std::string& id) const;
  std::vector<store::PodRecord> pods() const;
  std::vector<store::ContainerRecord> containers() const;
  std::vector<store::ContainerRecord> containers_of(const std::string& pod_id) const;

  // Persists, then shows the record to the others.
  void save(const store::PodRecord& pod);
  void save(const store::ContainerRecord& container);
  void forget_pod(const std::string& id);
  void forget_container(const std::string& id);

  // Waits until the container has exited or is gone (true), `until` passed or `stop` stopped
  // (false).
  bool wait_exited(const std::string& id, std::chrono::steady_clock::time_point until,
                   const images::StopToken& stop);

 private:
  RecordStore database_;
  mutable std::mutex mutex_;
  std::condition_variable exited_;
  std::map<std::string, store::PodRecord> pods_;
  std::map<std::string, store::ContainerRecord> containers_;
};

}  // namespace hanok::cri
