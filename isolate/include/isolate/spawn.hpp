// Running a program from a multi-threaded process (hanokd): posix_spawn, so no code of ours runs
// between fork and exec, with a clean signal state (the daemon blocks signals in its threads).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace hanok::isolate {

struct ProgramResult {
  int wait_status = 0;
  std::string output;  // stdout and stderr together
  bool succeeded() const;
  // "exit status 2", "killed by signal 9".
  std::string describe() const;
};

struct SpawnRequest {
  std::vector<std::string> argv;  // argv[0]: an absolute path
  std::string cwd;                // empty: the caller's
  int stdin_fd = -1;              // -1: /dev/null
  int stdout_fd = -1;
  int stderr_fd = -1;
  // More fds for the program, at 3, 4, ... in this order (whatever their numbers here).
  std::vector<int> pass_fds;
  // Its environment ("KEY=VALUE"); empty: the caller's.
  std::vector<std::string> env;
};

// Starts the program with an empty signal mask and default signal dispositions, its stdio on
// the given fds and `pass_fds` after them; no other fd of the caller reaches it. Returns its
// pid. Throws SysError when it cannot be started.
pid_t spawn_program(const SpawnRequest& request);
// waitpid, retried on EINTR.
int wait_program(pid_t pid);

// Runs argv[0] (an absolute path) in `cwd` (when given) to completion, with stdin /dev/null;
// collects its output (stdout and stderr, up to 64 KiB).
ProgramResult run_program(const std::vector<std::string>& argv, const std::string& cwd = {});

}  // namespace hanok::isolate
