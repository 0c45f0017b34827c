// The per-container monitor: one small single-threaded process per container, as conmon is for
// CRI-O. Started by hanokd (posix_spawn), it detaches from hanokd (a second fork: it is never
// hanokd's child, so it outlives hanokd and never becomes its zombie), becomes the subreaper of
// the container, runs `hanok create` (or `hanok restore` from a checkpoint) with the container's
// stdio on pipes (or a pty), and then, until the container's init exits:
//   - writes the CRI log file from the container's stdout and stderr;
//   - serves its control socket (SOCK_SEQPACKET `monitor.sock` in the bundle): "R" reopens the
//     log; "A" makes the connection an attach session: the answer "ok" carries (SCM_RIGHTS) the
//     container's input (its stdin's write end, or the pty master with a tty) when it has one,
//     then every piece of output follows as a message, its first byte 1 (stdout) or 2 (stderr);
//     the session may send "c" to close the container's stdin (stdin_once); the monitor ends
//     the sessions when the container's output ends;
//   - reaps every process re-parented to it.
// When the init exits it writes the exit file (code, signal, time) atomically and ends.
//
// It reports to hanokd on a sync fd: "M<pid>" (the monitor's own pid, after the second fork),
// then "C<init pid>" once the container is created, or "E<error text>".
#pragma once

#include <string>
#include <vector>

namespace hanok::cri::monitor {

struct MonitorOptions {
  std::string id;
  std::string bundle;        // the OCI bundle; the monitor's socket and files live there too
  std::string runtime;       // the hanok binary
  std::string runtime_root;  // its --root
  bool systemd_cgroup = false;
  std::string log_path;   // the CRI log file
  std::string exit_file;  // written when the init exits
  bool stdin_open = false;
  bool tty = false;
  std::string restore_from;  // a checkpoint's directory: `hanok restore` from it, not create
  int sync_fd = -1;
};

// Parses the monitor's flags (--id, --bundle, --runtime, --runtime-root, --systemd-cgroup,
// --log-path, --exit-file, --stdin, --tty, --restore-from, --sync-fd). Throws std::invalid_argument
// naming the flag.
MonitorOptions parse_monitor_flags(const std::vector<std::string>& args);

// The flags that give `options` back through parse_monitor_flags.
std::vector<std::string> monitor_flags(const MonitorOptions& options);

// Runs the monitor; returns its exit status.
int run_monitor(const MonitorOptions& options);

}  // namespace hanok::cri::monitor
