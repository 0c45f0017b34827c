// Protection of the runtime binary: a process that enters a container runs from a sealed memfd
// copy of the binary, so a container that reaches /proc/<pid>/exe (CVE-2019-5736) can only see
// an immutable anonymous copy, never the file on the host.
#pragma once

#include <sys/types.h>

namespace hanok::isolate {

// Returns if the process already runs from a sealed copy; otherwise re-executes itself from
// one with the same argv and environment (does not return). Throws SysError if it cannot.
void reexec_from_sealed_copy(char** argv, char** envp);

// Whether process `pid` still runs such a sealed copy (it has not executed another program).
bool runs_sealed_copy(pid_t pid);

}  // namespace hanok::isolate
