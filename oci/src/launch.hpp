// Private to oci/: what the runtime prepares before cloning a container process, and the
// entry points that run in the clone. The clone is made by a single-threaded process, so it may
// use the C++ library freely; errors travel back over the sync channel, never as exceptions.
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "isolate/cgroup.hpp"
#include "isolate/seccomp.hpp"
#include "isolate/sync_channel.hpp"
#include "oci/spec.hpp"

namespace hanok::oci::launch {

// Messages on the sync channel.
inline constexpr char kGo = 'G';         // runtime -> child: ids mapped, begin
inline constexpr char kHookPoint = 'H';  // child -> runtime: rootfs mounted, run runtime hooks
inline constexpr char kHooksDone = 'h';  // runtime -> child: payload = state JSON
inline constexpr char kReady = 'R';      // child -> runtime: created, waiting for start
inline constexpr char kStart = 'S';      // runtime -> child: payload = state JSON
inline constexpr char kExecuting = 'X';  // child -> runtime: everything done but execve
inline constexpr char kError = 'E';      // child -> runtime: payload = error text
inline constexpr char kPid = 'P';        // intermediate -> runtime: payload = the child's pid

struct Plan {
  const Spec* spec = nullptr;
  const Process* process = nullptr;  // what to execute
  std::string rootfs;                // absolute path on the host
  std::string bundle;
  bool no_pivot = false;
  bool new_keyring = true;
  std::string keyring_name;
  bool in_user_namespace = false;  // a new or joined user namespace (mknod is not allowed)
  bool new_user_namespace = false;
  bool pause_for_hooks = false;       // prestart/createRuntime/createContainer hooks exist
  bool new_cgroup_namespace = false;  // unshared once the process is in its cgroup
  isolate::cgroup::Mode cgroup_mode = isolate::cgroup::Mode::Unified;
  // The container's cgroup in each hierarchy, for a cgroup mount inside it.
  std::vector<isolate::cgroup::HierarchyDir> cgroup_hierarchies;
  int preserve_fds = 0;
  std::vector<int> runtime_fds;  // the runtime's own fds the child closes first (a state lock)
  int console_socket = -1;
  int start_listener = -1;  // create: SOCK_SEQPACKET listener `start` connects to; run: -1
  std::optional<isolate::SeccompProgram> seccomp;
};

// The container's init: builds the rootfs, waits for start, executes the process.
[[noreturn]] void container_init_main(const Plan& plan, isolate::SyncChannel& channel);
// A process joining a running container (`exec`): already in its namespaces.
[[noreturn]] void exec_main(const Plan& plan, isolate::SyncChannel& channel);

struct NamespaceToJoin {
  isolate::NamespaceType type;
  int fd;
};

// Clones the container process: new namespaces from `new_flags`; when `joins` is not empty, an
// intermediate process enters those first (user first, mount last) and the final process is
// born as a child of the caller (CLONE_PARENT). Returns the final pid; the child runs `body`.
// With `cgroup_fd` >= 0 the final process is born in that cgroup v2.
pid_t spawn(const std::vector<NamespaceToJoin>& joins, uint64_t new_flags, int cgroup_fd,
            isolate::SyncChannel& runtime_end, isolate::SyncChannel& child_end,
            const std::function<void()>& body);

// Receives the next message, which must be `expected`; kError becomes an exception with the
// child's text, the channel closing one that says how the child `pid` ended (when it is a child
// of the caller), while doing `step`.
isolate::SyncMessage expect(const isolate::SyncChannel& channel, char expected, const char* step,
                            pid_t pid = -1);

// The last steps of a process entering a container, after start: how the process reported
// them, read by the runtime. Succeeded: kExecuting came and then the channel closed (execve).
struct ExecOutcome {
  bool executed = false;
  std::string error;  // the child's report, or how it ended before execve
};
ExecOutcome await_exec(const isolate::SyncChannel& channel, pid_t pid = -1);

}  // namespace hanok::oci::launch
