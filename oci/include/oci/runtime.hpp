// The OCI runtime operations (runtime.md), as the `hanok` CLI exposes them with runc's flags.
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "isolate/cgroup.hpp"
#include "oci/spec.hpp"
#include "oci/state.hpp"

namespace hanok::oci {

struct CreateOptions {
  std::string id;
  std::string bundle;
  std::string pid_file;
  std::string console_socket;
  bool no_pivot = false;
  bool no_new_keyring = false;
  int preserve_fds = 0;
};

struct ExecOptions {
  std::string id;
  Process process;  // complete: from --process, or the container's with the CLI's changes
  std::string pid_file;
  std::string console_socket;
  bool detach = false;
  int preserve_fds = 0;
  bool ignore_paused = false;  // exec into a paused container (the process starts frozen)
};

// runc's checkpoint flags that hanok serves.
struct CheckpointOptions {
  std::string id;
  std::string image_path;  // CRIU's images (made when missing)
  std::string work_path;   // its logs; empty: image_path
  bool leave_running = false;
  bool tcp_established = false;
  bool ext_unix_sk = false;
  bool file_locks = false;
};

// runc's restore: a new container (id, bundle, pid file) from a checkpoint's images; always
// detached, its init re-parented to the caller's subreaper.
struct RestoreOptions {
  CreateOptions create;
  std::string image_path;
  std::string work_path;
  bool tcp_established = false;
  bool ext_unix_sk = false;
  bool file_locks = false;
};

class Runtime {
 public:
  // `systemd_cgroup`: cgroupsPath is "slice:prefix:name" (runc's --systemd-cgroup).
  explicit Runtime(std::string state_root, bool systemd_cgroup = false);

  // Everything up to the process's execve; the init then waits for start. State "created".
  void create(const CreateOptions& options);
  // Releases a created container and returns once its process executed (or failed to); runs
  // poststart hooks. One start at a time per container.
  void start(const std::string& id);
  // create + start; without detach waits and returns the exit code (128+N for signal N),
  // forwarding signals to the container and deleting it afterwards (unless `keep`).
  int run(const CreateOptions& options, bool detach, bool keep = false);
  // Sends a signal to the init ("container not running" once it is gone), or with `all` to
  // every process in the container's cgroup (fine when there are none left).
  void kill(const std::string& id, int signal, bool all);
  // Removes a stopped or created (or, with force, any) container and runs poststop hooks.
  void remove(const std::string& id, bool force);
  // Dumps a running (or paused) container's processes with CRIU; without leave_running they
  // end once dumped. A terminal or a joined user namespace is refused (Invalid).
  void checkpoint(const CheckpointOptions& options);
  // Creates a running container from a checkpoint: cgroup, then criu restore in it with the
  // bundle's rootfs as root, its bind sources and network namespace for the dumped ones.
  void restore(const RestoreOptions& options);
  // Runs a process inside a running container; without detach returns its exit code.
  int exec(const ExecOptions& options);

  // runc's state JSON: ociVersion id pid status bundle rootfs created owner annotations.
  nlohmann::json state(const std::string& id) const;
  std::vector<nlohmann::json> list() const;
  // The host pids of the container's processes.
  std::vector<pid_t> pids(const std::string& id) const;
  // The config.json the container was created with.
  Spec spec_of(const std::string& id) const;

  // Freezes / thaws every process of the container (cgroup freezer).
  void pause(const std::string& id);
  void resume(const std::string& id);
  // Changes live limits: fields set in `update` replace the current ones.
  void update(const std::string& id, const isolate::cgroup::Resources& update);
  isolate::cgroup::Stats stats(const std::string& id) const;
  // runc's events: {"type":"stats",...} every `interval_ms` (once with once=true), and
  // {"type":"oom",...} when the cgroup's oom_kill count rises; ends when the container stops.
  void events(const std::string& id, int interval_ms, bool once,
              const std::function<void(const nlohmann::json&)>& emit) const;
  Status status(const ContainerState& state) const;

  const StateStore& store() const { return store_; }

 private:
  struct Launched;
  Launched launch(const CreateOptions& options, bool run_mode);
  // After the init reported how its start went: records "running" and runs poststart hooks.
  void finish_start(ContainerState& state, const Spec& spec, const std::string& outcome_error);
  void destroy(const ContainerState& state, const Spec& spec);

  StateStore store_;
  bool systemd_cgroup_ = false;
};

}  // namespace hanok::oci
