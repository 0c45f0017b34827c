// Container state on disk: <root>/<id>/state.json (written atomically) plus the start socket
// that exists while the container is "created".
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace hanok::oci {

enum class Status { Creating, Created, Running, Paused, Stopped };
const char* status_name(Status status);

struct ContainerState {
  std::string id;
  pid_t pid = 0;
  uint64_t pid_start_time = 0;
  std::string bundle;
  std::string rootfs;
  std::string created;  // RFC 3339 with nanoseconds, UTC
  std::string owner;
  std::map<std::string, std::string> annotations;
  std::string config_json;   // the config.json the container was created from
  std::string cgroup_path;   // below the hierarchy root; empty: no cgroup
  nlohmann::json resources;  // linux.resources as applied now (config + updates)
};

class StateStore {
 public:
  explicit StateStore(std::string root);

  const std::string& root() const { return root_; }
  std::string dir_of(const std::string& id) const;
  std::string start_socket_of(const std::string& id) const;

  // Creates <root>/<id>; fails with "container "x" already exists" if it does.
  void create_dir(const std::string& id) const;
  void save(const ContainerState& state) const;
  ContainerState load(const std::string& id) const;  // "container "x" does not exist"
  bool exists(const std::string& id) const;
  void remove(const std::string& id) const;
  std::vector<std::string> list_ids() const;

  // created/running/stopped from the process and the start socket.
  Status status_of(const ContainerState& state) const;

 private:
  std::string root_;
};

// Container ids: letters, digits, and _ + - . (not starting with a dot), at most 1024 bytes.
void validate_container_id(const std::string& id);

// The state JSON of runtime-spec runtime.md (also what hooks read on stdin).
nlohmann::json state_json(const ContainerState& state, Status status);

}  // namespace hanok::oci
