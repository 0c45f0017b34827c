// Private to oci/: turning the current process into the container's process (terminal, limits,
// identity, capabilities, seccomp) and executing it.
#pragma once

#include <string>

#include "launch.hpp"

namespace hanok::oci::launch {

// terminal: true: a pty from the container's /dev/ptmx becomes stdio and the controlling tty;
// its master goes to the console socket. `bind_console` also binds it over /dev/console.
void setup_terminal(const Plan& plan, bool bind_console);

// args[0] looked up in the PATH of the process's env (not the runtime's), as a shell would.
// Throws `exec: "foo": executable file not found in $PATH`.
std::string resolve_executable(const Process& process);

// rlimits, oom_score_adj, cwd, groups, uid/gid, capabilities, umask; seccomp first when
// noNewPrivileges is off (loading it then needs CAP_SYS_ADMIN).
void apply_identity(const Plan& plan);
// noNewPrivileges and, with it, seccomp: as late as possible before exec.
void apply_late_restrictions(const Plan& plan);

// Closes the runtime's fds, restores signals, execve. On failure reports on `report` and exits.
[[noreturn]] void execute(const Plan& plan, const std::string& path,
                          const isolate::SyncChannel& report);

}  // namespace hanok::oci::launch
