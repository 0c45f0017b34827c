// Running a program from a multi-threaded process (hanokd): posix_spawn, so no code of ours runs
// between fork and exec, with a clean signal state (the daemon blocks signals in its threads).
#pragma once

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

// Runs argv[0] (an absolute path) in `cwd` (when given) to completion, with stdin /dev/null, an
// empty signal mask and default signal dispositions; collects its output (up to 64 KiB). Throws
// SysError when it cannot be started.
ProgramResult run_program(const std::vector<std::string>& argv, const std::string& cwd = {});

}  // namespace hanok::isolate
