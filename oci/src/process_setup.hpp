// Private to oci/: turning the current process into the container's process (terminal, limits,
// identity, capabilities, seccomp) and executing it.
#pragma once

#include <initializer_list>
#include <string>

#include "launch.hpp"

namespace hanok::oci::launch {

// terminal: true: a pty from the container's /dev/ptmx becomes stdio and the controlling tty;
// its master goes to the console socket. `bind_console` also binds it over /dev/console.
void setup_terminal(const Plan& plan, bool bind_console);

// args[0] looked up in the PATH of the process's env (not the runtime's), as a shell would.
// Throws `exec: "foo": executable file not found in $PATH`.
std::string resolve_executable(const Process& process);

// Before start: rlimits and oom_score_adj, while the process is still root with every
// capability; then every fd but stdio, the preserved fds and `channels` closed, and the cwd
// entered and checked to be inside the root.
void prepare_process(const Plan& plan, std::initializer_list<int> channels);

// startContainer hooks, run by the init after start as the container's user.
struct StartHooks {
  const std::vector<Hook>* hooks = nullptr;
  std::string state_json;
};

// Reports `error` on `report` (kError), if it can, and exits with `code`.
[[noreturn]] void report_and_exit(const isolate::SyncChannel& report, const std::string& error,
                                  int code);

// After start, up to execve: only stdio and the preserved fds stay; default signals; seccomp
// (before the capabilities go when noNewPrivileges is off); groups, uid/gid, capabilities,
// umask; the startContainer hooks; kExecuting on `report`; noNewPrivileges and seccomp (when it
// is on); execve. Any failure is reported on `report` as kError before exiting.
[[noreturn]] void execute(const Plan& plan, const std::string& path,
                          const isolate::SyncChannel& report, const StartHooks& start_hooks);

}  // namespace hanok::oci::launch
