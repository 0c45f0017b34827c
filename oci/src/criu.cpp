#include "criu.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <deque>

#include "isolate/error.hpp"
#include "isolate/files.hpp"
#include "isolate/spawn.hpp"
#include "isolate/text.hpp"
#include "isolate/unique_fd.hpp"

namespace hanok::oci::criu {

using isolate::Error;
using isolate::ErrorKind;

std::string binary() {
  std::string path = isolate::find_criu();
  if (path.empty()) {
    throw Error(ErrorKind::Invalid,
                "checkpoint/restore needs CRIU: criu is not installed (Debian package criu)");
  }
  return path;
}

std::string last_errors(const std::string& log_text) {
  std::deque<std::string> lines;
  for (std::string_view line : isolate::split(log_text, "\n")) {
    if (line.find("Error (") == std::string_view::npos) continue;
    lines.emplace_back(line);
    if (lines.size() > 3) lines.pop_front();
  }
  std::string joined;
  for (const auto& line : lines) joined += (joined.empty() ? "" : "; ") + line;
  return joined;
}

namespace {
void note_in_log(const std::string& log_path, const std::string& message) {
  int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log < 0) return;
  std::string line = "Error (hanok): " + message + "\n";
  [[maybe_unused]] ssize_t n = ::write(log, line.data(), line.size());
  ::close(log);
}

// In the child (this process is single-threaded): joins the cgroup and namespaces, puts
// `pass_fds` at 3, 4, ... (stdio on /dev/null, nothing else open) and executes criu, which dies
// with its parent: a `hanok` killed for taking too long leaves no criu holding the container.
[[noreturn]] void exec_criu(const std::vector<std::string>& argv, const std::vector<int>& pass_fds,
                            pid_t parent, isolate::cgroup::Cgroup* cgroup,
                            const std::vector<std::string>& namespaces,
                            const std::string& log_path) {
  try {
    if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != parent) ::_exit(127);
    if (cgroup != nullptr) cgroup->add_process(::getpid());
    for (const auto& path : namespaces) {
      isolate::UniqueFd ns(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
      if (!ns) isolate::throw_sys("open the namespace", path);
      if (::setns(ns.get(), 0) != 0) isolate::throw_sys("setns", path);
    }
    std::vector<int> high;
    for (int fd : pass_fds) {
      int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 64);
      if (copy < 0) isolate::throw_sys("dup an fd for criu", "");
      high.push_back(copy);
    }
    int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0) isolate::throw_sys("open", "/dev/null");
    for (int target = 0; target < 3; ++target) {
      if (::dup2(null, target) < 0) isolate::throw_sys("dup2 /dev/null", "");
    }
    for (size_t i = 0; i < high.size(); ++i) {
      if (::dup2(high[i], static_cast<int>(3 + i)) < 0) isolate::throw_sys("dup2 for criu", "");
    }
    ::close_range(static_cast<unsigned>(3 + high.size()), ~0U, 0);
    std::vector<char*> args;
    args.reserve(argv.size() + 1);
    for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    isolate::throw_sys("execute", argv[0]);
  } catch (const std::exception& e) {
    note_in_log(log_path, std::string("run criu: ") + e.what());
  }
  ::_exit(127);
}
}  // namespace

void run(const std::vector<std::string>& args, const std::vector<int>& pass_fds,
         const std::string& log_path, const std::string& what, isolate::cgroup::Cgroup* cgroup,
         const std::vector<std::string>& namespaces) {
  std::vector<std::string> argv = {binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(), {"--log-file", log_path, "-v4"});
  pid_t parent = ::getpid();
  pid_t child = ::fork();
  if (child < 0) isolate::throw_sys("fork for criu", "");
  if (child == 0) exec_criu(argv, pass_fds, parent, cgroup, namespaces, log_path);
  int status = isolate::wait_program(child);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return;
  std::string errors = last_errors(isolate::read_file_if_exists(log_path).value_or(""));
  isolate::ProgramResult result{status, {}};
  throw Error(ErrorKind::Internal, what + ": criu " + result.describe() + ": " +
                                       (errors.empty() ? "see " + log_path : errors));
}

}  // namespace hanok::oci::criu
