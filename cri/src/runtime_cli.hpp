// Private to cri/: the programs hanokd starts (always by posix_spawn, never by fork in the
// daemon): the OCI runtime `hanok` for a container's start, kill, delete, update and exec, and
// `hanok-monitor` for containers and pods.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "images/stop_token.hpp"
#include "isolate/unique_fd.hpp"

namespace hanok::cri {

// Where the helper binaries are: as configured, else next to hanokd's own executable.
struct HelperBinaries {
  std::string runtime;  // hanok
  std::string monitor;  // hanok-monitor
};
HelperBinaries locate_helpers(const std::string& runtime, const std::string& monitor);

class RuntimeCli {
 public:
  RuntimeCli(std::string binary, std::string root)
      : binary_(std::move(binary)), root_(std::move(root)) {}
  const std::string& binary() const { return binary_; }
  const std::string& root() const { return root_; }

  // `hanok --root R [--systemd-cgroup] ARGS...`; throws isolate::Error (Internal) with the
  // runtime's own message when it fails.
  void run(const std::vector<std::string>& args, bool systemd_cgroup = false) const;
  void start(const std::string& id) const { run({"start", id}); }
  void kill(const std::string& id, int signal, bool all) const;
  void remove(const std::string& id, bool force) const;
  // `hanok update --resources FILE ID` with linux.resources JSON.
  void update(const std::string& id, const nlohmann::json& resources, bool systemd_cgroup,
              const std::string& scratch_dir) const;
  // The argv of an exec of `process_file` (an OCI process JSON) that writes its pid to `pid_file`.
  std::vector<std::string> exec_argv(const std::string& id, const std::string& process_file,
                                     const std::string& pid_file) const;

 private:
  std::vector<std::string> base(bool systemd_cgroup) const;
  std::string binary_;
  std::string root_;
};

// A program's output on two pipes, read until it exits (or the time is up).
struct CapturedRun {
  int wait_status = 0;
  std::string out;
  std::string err;
  bool timed_out = false;  // `timeout` passed: the program was told to end (see run_captured)
  bool stopped = false;    // the StopToken stopped it
};

struct CaptureRequest {
  std::vector<std::string> argv;
  std::vector<std::string> env;          // empty: hanokd's
  std::string input;                     // its stdin (at most a pipe's 64 KiB); empty: /dev/null
  std::chrono::milliseconds timeout{0};  // 0: none
  size_t limit = 1 << 20;                // of stdout and of stderr each; the rest is dropped
};

// Starts the program, collects stdout and stderr, and waits for it. When the timeout passes or
// `stop` stops, calls `on_timeout` (which should make the program end, e.g. kill what it runs)
// and goes on collecting until it exits.
CapturedRun run_captured(const CaptureRequest& request, const images::StopToken& stop,
                         const std::function<void()>& on_timeout);

}  // namespace hanok::cri
