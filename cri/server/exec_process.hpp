// Private to cri/: a process run in a running container with `hanok exec` (ExecSync and the
// streaming Exec share it): its process.json from the container's own process (args replaced,
// a terminal or not), the files of one exec in the bundle, the runtime's command line, and
// how to end the process when its caller gives up.
#pragma once

#include <string>
#include <vector>

#include "store.pb.h"

namespace hanok::cri {

class RuntimeCore;

// Files of one exec in the bundle (process.json, pid file, runtime log), removed when it ends.
struct ExecFiles {
  std::string tag;  // unique for this exec
  std::string process, pid, log;
  explicit ExecFiles(const std::string& bundle);
  ~ExecFiles();
  ExecFiles(const ExecFiles&) = delete;
  ExecFiles& operator=(const ExecFiles&) = delete;
};

// Writes the exec's process.json (the container's process with `cmd`, `tty` or not) and returns
// `hanok ... exec` for it; with a tty, `console_socket` receives the pty's master.
std::vector<std::string> prepare_exec(RuntimeCore& core, const store::ContainerRecord& container,
                                      const std::vector<std::string>& cmd, bool tty,
                                      const ExecFiles& files,
                                      const std::string& console_socket = "");

// Ends the exec'd process (the runtime's child in the container), so that the runtime reaps it
// and returns: SIGKILL through a pidfd of the pid the runtime wrote, once the pidfd shows that
// pid is a process in the container's cgroup (not another one that got a recycled pid). False
// when there is nothing to kill yet (the runtime has not written the pid), true once done or
// nothing is left to do.
bool kill_exec(const std::string& pid_file, const std::string& cgroup_path);

// The exit code of a runtime that ran the command: its own code, 128+signal when it was killed.
int exec_exit_code(int wait_status);

// "[sh -c exit 3]": a command as the kubelet's messages show it.
std::string command_text(const std::vector<std::string>& cmd);

}  // namespace hanok::cri
