// Processes: clone3 in fork style, identity by (pid, start time), pidfds, exit statuses.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "isolate/unique_fd.hpp"

namespace hanok::isolate {

// clone3 without a new stack (a fork with namespace flags). Returns 0 in the child, the pid in
// the parent. With `cgroup_fd` >= 0 the child is born in that cgroup v2 (CLONE_INTO_CGROUP).
// The caller must be single-threaded. Throws SysError in the parent.
pid_t clone_process(uint64_t flags, int cgroup_fd = -1);

// Field 22 of /proc/<pid>/stat (start time in clock ticks); nullopt if there is no such process.
std::optional<uint64_t> process_start_time(pid_t pid);
// The process exists, is not a zombie, and started at `start_time` (not a reused pid).
bool process_alive(pid_t pid, uint64_t start_time);

UniqueFd open_pidfd(pid_t pid);
// Waits until the process behind `pidfd` exits (any process, child or not), up to timeout_ms
// (-1: forever). Returns whether it exited.
bool wait_pidfd_exit(int pidfd, int timeout_ms);
int send_signal(int pidfd, int signal);

// 128+N for a signal, the code for an exit: a shell's convention, as runc run reports it.
int exit_code_of(int wait_status);
// Blocks until child `pid` exits; returns its wait status.
int wait_child(pid_t pid);

// Closes every fd >= 3 except those in `keep` (negative entries are ignored): close_range, or
// where that is missing or refused, each fd /proc/self/fd lists. For a single-threaded process
// (it allocates). Throws SysError when it cannot.
void close_fds_except(std::vector<int> keep);

// "SIGTERM", "TERM", "15" -> 15; nullopt if unknown.
std::optional<int> signal_from_name(const std::string& name);

}  // namespace hanok::isolate
