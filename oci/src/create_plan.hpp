// Private to oci/: what create and restore share: the plan made from a bundle before anything
// changes, and the guard that undoes a half-made container.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "isolate/cgroup.hpp"
#include "isolate/log.hpp"
#include "isolate/process.hpp"
#include "isolate/seccomp.hpp"
#include "oci/runtime.hpp"

namespace hanok::oci {

// Everything `create` decides from the bundle and its flags before it changes anything.
struct CreatePlan {  // NOLINT(bugprone-exception-escape): holds a Spec, see Linux
  std::string id;
  std::string bundle;
  std::string config_text;
  Spec spec;
  std::string rootfs;
  isolate::cgroup::Resources resources;
  isolate::cgroup::Location cgroup;
  std::optional<isolate::SeccompProgram> seccomp;
  std::vector<std::pair<isolate::NamespaceType, std::string>> joins;  // namespaces by path
  uint64_t new_namespace_flags = 0;
  bool new_user_namespace = false;
  bool in_user_namespace = false;
  bool new_cgroup_namespace = false;
};

CreatePlan plan_create(const CreateOptions& options, bool systemd_cgroup);

// Kills and reaps a half-created container and removes its cgroup (if it made it) and state
// when creation fails.
class CreationGuard {
 public:
  CreationGuard(const StateStore& store, std::string id) : store_(store), id_(std::move(id)) {}
  ~CreationGuard() {
    if (committed_) return;
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      try {
        isolate::wait_child(pid_);
      } catch (...) {
      }
    }
    if (cgroup_ != nullptr) {
      try {
        cgroup_->kill_all(SIGKILL);
        cgroup_->destroy();
      } catch (const std::exception& e) {
        isolate::log_warning(std::string("removing the cgroup of a failed create: ") + e.what());
      }
    }
    try {
      store_.remove(id_);
    } catch (const std::exception& e) {
      isolate::log_warning(std::string("cleaning up a failed create: ") + e.what());
    }
  }
  void set_pid(pid_t pid) { pid_ = pid; }
  void set_created_cgroup(isolate::cgroup::Cgroup* cgroup) { cgroup_ = cgroup; }
  void commit() { committed_ = true; }

 private:
  const StateStore& store_;
  std::string id_;
  pid_t pid_ = 0;
  isolate::cgroup::Cgroup* cgroup_ = nullptr;
  bool committed_ = false;
};

// The state of a container made from `made` whose init is `pid`.
ContainerState new_state(const CreatePlan& made, Status recorded, pid_t pid, bool cgroup_made);

void write_pid_file(const std::string& path, pid_t pid);

// runc 1.2: a container never joins a cgroup that already holds other processes.
void refuse_busy_cgroup(isolate::cgroup::Cgroup& cgroup);

}  // namespace hanok::oci
