#include "criu.hpp"

#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
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
// A child of this single-threaded process that joins `cgroup` (when given) and the namespaces,
// then runs the program; its wait status.
int run_joined(const isolate::SpawnRequest& request, isolate::cgroup::Cgroup* cgroup,
               const std::vector<std::string>& namespaces, const std::string& log_path) {
  pid_t child = ::fork();
  if (child < 0) isolate::throw_sys("fork for criu", "");
  if (child == 0) {
    try {
      if (cgroup != nullptr) cgroup->add_process(::getpid());
      for (const auto& path : namespaces) {
        isolate::UniqueFd ns(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
        if (!ns) isolate::throw_sys("open the namespace", path);
        if (::setns(ns.get(), 0) != 0) isolate::throw_sys("setns", path);
      }
      int status = isolate::wait_program(isolate::spawn_program(request));
      ::_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    } catch (const std::exception& e) {
      std::string message = std::string("Error (hanok): run criu: ") + e.what() + "\n";
      int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
      if (log >= 0) [[maybe_unused]]
        ssize_t n = ::write(log, message.data(), message.size());
      ::_exit(127);
    }
  }
  return isolate::wait_program(child);
}
}  // namespace

void run(const std::vector<std::string>& args, const std::vector<int>& pass_fds,
         const std::string& log_path, const std::string& what, isolate::cgroup::Cgroup* cgroup,
         const std::vector<std::string>& namespaces) {
  isolate::SpawnRequest request;
  request.argv = {binary()};
  request.argv.insert(request.argv.end(), args.begin(), args.end());
  request.argv.insert(request.argv.end(), {"--log-file", log_path, "-v4"});
  request.pass_fds = pass_fds;
  int status = cgroup != nullptr || !namespaces.empty()
                   ? run_joined(request, cgroup, namespaces, log_path)
                   : isolate::wait_program(isolate::spawn_program(request));
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return;
  std::string errors = last_errors(isolate::read_file_if_exists(log_path).value_or(""));
  isolate::ProgramResult result{status, {}};
  throw Error(ErrorKind::Internal, what + ": criu " + result.describe() + ": " +
                                       (errors.empty() ? "see " + log_path : errors));
}

}  // namespace hanok::oci::criu
