// Private to cri/: a helper program run to its end with its output collected (ExecSync's
// `hanok exec`, a CNI plugin, the runtime's short commands), bounded in time and size, from the
// multi-threaded daemon (posix_spawn).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "byte_budget.hpp"
#include "images/stop_token.hpp"

namespace hanok::cri {

struct CaptureRequest {
  std::vector<std::string> argv;
  std::vector<std::string> env;          // empty: hanokd's
  std::string input;                     // its stdin (at most a pipe's 64 KiB); empty: /dev/null
  std::chrono::milliseconds timeout{0};  // 0: none
  size_t limit = 1 << 20;                // of stdout and of stderr each; the rest is dropped
  // After the timeout (or the stop), how long the program has to end before SIGKILL.
  std::chrono::milliseconds grace{2000};
  // When set, the memory the output takes is drawn from it as it grows: past what is left, the
  // program is given up (as at a timeout) and the run says `exhausted`.
  BudgetShare* budget = nullptr;
};

struct CapturedRun {
  int wait_status = 0;
  std::string out;
  std::string err;
  bool timed_out = false;  // the timeout passed
  bool stopped = false;    // the StopToken stopped it (cancelled call, deadline, shutdown)
  bool exhausted = false;  // its output needed more than the budget had left
};

// Starts the program and collects stdout and stderr until it exits (not until its pipes close:
// a background process it left may hold them). When the timeout passes or `stop` stops, calls
// `on_give_up` (which should end what the program runs, e.g. the process it started in a
// container), then SIGKILLs the program itself if it is still there after the grace time.
CapturedRun run_captured(
    const CaptureRequest& request, const images::StopToken& stop,
    const std::function<void()>& on_give_up = [] {});

}  // namespace hanok::cri
