#include "isolate/process.hpp"

#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "isolate/error.hpp"
#include "isolate/files.hpp"

namespace hanok::isolate {

pid_t clone_process(uint64_t flags, int cgroup_fd) {
  clone_args args{};
  args.flags = flags;
  if (cgroup_fd >= 0) {
    args.flags |= CLONE_INTO_CGROUP;
    args.cgroup = static_cast<uint64_t>(cgroup_fd);
  }
  // With CLONE_PARENT the child inherits the caller's exit signal; clone3 wants 0 here.
  args.exit_signal = (flags & CLONE_PARENT) ? 0 : SIGCHLD;
  long pid = ::syscall(SYS_clone3, &args, sizeof args);
  if (pid < 0) throw_sys("clone3", "");
  return static_cast<pid_t>(pid);
}

namespace {
// The fields after "(comm)": state is the first, start time the 20th.
bool read_stat(pid_t pid, char& state, uint64_t& start_time) {
  std::string stat;
  try {
    stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  } catch (const SysError&) {
    return false;
  }
  size_t close = stat.rfind(')');
  if (close == std::string::npos || close + 2 >= stat.size()) return false;
  const char* cursor = stat.c_str() + close + 2;
  state = *cursor;
  for (int field = 3; field < 22; ++field) {
    cursor = std::strchr(cursor, ' ');
    if (cursor == nullptr) return false;
    ++cursor;
  }
  start_time = std::strtoull(cursor, nullptr, 10);
  return true;
}
}  // namespace

std::optional<uint64_t> process_start_time(pid_t pid) {
  char state;
  uint64_t start_time;
  if (!read_stat(pid, state, start_time)) return std::nullopt;
  return start_time;
}

bool process_alive(pid_t pid, uint64_t start_time) {
  char state;
  uint64_t actual;
  if (pid <= 0 || !read_stat(pid, state, actual)) return false;
  return actual == start_time && state != 'Z' && state != 'X';
}

UniqueFd open_pidfd(pid_t pid) {
  UniqueFd fd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!fd) throw_sys("pidfd_open", std::to_string(pid));
  return fd;
}

bool wait_pidfd_exit(int pidfd, int timeout_ms) {
  pollfd entry{pidfd, POLLIN, 0};
  for (;;) {
    int n = ::poll(&entry, 1, timeout_ms);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_sys("poll pidfd", "");
    return n > 0;
  }
}

int send_signal(int pidfd, int signal) {
  return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, signal, nullptr, 0));
}

int exit_code_of(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return 255;
}

int wait_child(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw_sys("waitpid", std::to_string(pid));
  }
  return status;
}

namespace {
// Without close_range (kernels before 5.9, or a seccomp filter of the caller's that refuses it):
// the fds /proc/self/fd lists, each one that is not kept. Throws when they cannot be listed.
void close_listed_fds(const std::vector<int>& keep) {
  std::vector<int> open_fds;
  for (const auto& name : list_dir("/proc/self/fd")) open_fds.push_back(std::atoi(name.c_str()));
  if (open_fds.empty()) throw_sys("list the open fds in", "/proc/self/fd", ENOENT);
  for (int fd : open_fds) {
    if (fd >= 3 && !std::binary_search(keep.begin(), keep.end(), fd)) ::close(fd);
  }
}
}  // namespace

void close_fds_except(std::vector<int> keep) {
  std::sort(keep.begin(), keep.end());
  unsigned first = 3;
  bool closed_all = true;
  auto close_span = [&](unsigned from, unsigned to) {
    if (from > to || !closed_all) return;
    if (::syscall(SYS_close_range, from, to, 0) == 0) return;
    if (errno != ENOSYS && errno != EPERM) throw_sys("close_range", "");
    closed_all = false;
  };
  for (int fd : keep) {
    if (fd < static_cast<int>(first)) continue;
    close_span(first, static_cast<unsigned>(fd) - 1);
    first = static_cast<unsigned>(fd) + 1;
  }
  close_span(first, ~0U);
  if (!closed_all) close_listed_fds(keep);
}

std::optional<int> signal_from_name(const std::string& name) {
  if (name.empty()) return std::nullopt;
  if (name.find_first_not_of("0123456789") == std::string::npos) {
    int number = std::atoi(name.c_str());
    if (number <= 0 || number >= NSIG) return std::nullopt;
    return number;
  }
  std::string bare = name.rfind("SIG", 0) == 0 ? name.substr(3) : name;
  for (int number = 1; number < NSIG; ++number) {
    const char* abbrev = ::sigabbrev_np(number);
    if (abbrev != nullptr && bare == abbrev) return number;
  }
  if (bare.rfind("RTMIN+", 0) == 0) return SIGRTMIN + std::atoi(bare.c_str() + 6);
  if (bare.rfind("RTMAX-", 0) == 0) return SIGRTMAX - std::atoi(bare.c_str() + 6);
  return std::nullopt;
}

}  // namespace hanok::isolate
