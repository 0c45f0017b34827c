// Container state on disk: <root>/<id>/state.json, written atomically, with the container's
// status recorded explicitly (created, then running once `start` saw its process execute). The
// directory itself is the container's lock: every command that changes a container holds an
// flock on it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "isolate/cgroup.hpp"
#include "isolate/unique_fd.hpp"

namespace hanok::oci {

enum class Status { Creating, Created, Running, Paused, Stopped };
const char* status_name(Status status);

// (NOLINT: clang-tidy 14 cannot see that the implicit moves of nlohmann::json members do not
// throw.)
struct ContainerState {  // NOLINT(bugprone-exception-escape)
  std::string id;
  Status recorded = Status::Created;  // Created or Running; the process decides the rest
  pid_t pid = 0;
  uint64_t pid_start_time = 0;
  std::string bundle;
  std::string rootfs;
  std::string created;  // RFC 3339 with nanoseconds, UTC
  std::string owner;
  std::map<std::string, std::string> annotations;
  std::string config_json;           // the config.json the container was created from
  isolate::cgroup::Location cgroup;  // empty path: no cgroup
  bool cgroup_created = false;       // hanok made the cgroup (and removes it with the container)
  nlohmann::json resources;          // linux.resources as applied now (config + updates)
};

// An flock held on a container's state directory, and that directory as an fd: paths in it
// through /proc/self/fd stay short whatever the root's length (a unix socket's path must fit in
// 108 bytes).
class ContainerLock {
 public:
  ContainerLock() = default;
  explicit ContainerLock(isolate::UniqueFd dir) : dir_(std::move(dir)) {}
  int fd() const { return dir_.get(); }
  // "/proc/self/fd/<fd>/<name>".
  std::string path_of(const std::string& name) const;

 private:
  isolate::UniqueFd dir_;
};

class StateStore {
 public:
  explicit StateStore(std::string root);

  const std::string& root() const { return root_; }
  std::string dir_of(const std::string& id) const;
  static constexpr const char* kStartSocket = "start.sock";

  // Creates <root>/<id> and locks it; Error AlreadyExists "container with given ID already
  // exists" if it is there.
  ContainerLock create_locked(const std::string& id) const;
  // Waits for the container's lock; Error NotFound "container does not exist" without one.
  ContainerLock lock(const std::string& id) const;
  void save(const ContainerState& state) const;
  ContainerState load(const std::string& id) const;  // Error NotFound "container does not exist"
  bool exists(const std::string& id) const;
  void remove(const std::string& id) const;
  std::vector<std::string> list_ids() const;

  // The recorded status while the init lives; stopped once it is gone.
  Status status_of(const ContainerState& state) const;

 private:
  std::string root_;
};

// Container ids: letters, digits, and _ + - . (not starting with a dot), at most 1024 bytes.
// Error Invalid "invalid container ID format" otherwise.
void validate_container_id(const std::string& id);

// The state JSON of runtime-spec runtime.md (also what hooks read on stdin).
nlohmann::json state_json(const ContainerState& state, Status status);

}  // namespace hanok::oci
