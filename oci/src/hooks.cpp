#include "oci/hooks.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <stdexcept>

#include "isolate/error.hpp"
#include "isolate/log.hpp"
#include "isolate/process.hpp"
#include "isolate/unique_fd.hpp"

namespace hanok::oci {

namespace {
std::vector<char*> c_strings(const std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  for (const auto& s : strings) pointers.push_back(const_cast<char*>(s.c_str()));
  pointers.push_back(nullptr);
  return pointers;
}

void run_one(const Hook& hook, const char* kind, const std::string& state_json) {
  std::string what = std::string(kind) + " hook " + hook.path;
  // The state goes to the hook's stdin over a socket pair: sent with MSG_NOSIGNAL, a hook that
  // does not read it cannot kill the runtime with SIGPIPE, and no signal disposition changes (the
  // container's init runs startContainer hooks just before it executes the process).
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
    isolate::throw_sys("socketpair for", what);
  }
  isolate::UniqueFd read_end(pair[0]);
  isolate::UniqueFd write_end(pair[1]);
  std::vector<std::string> args =
      hook.args.empty() ? std::vector<std::string>{hook.path} : hook.args;
  auto argv = c_strings(args);
  auto envp = c_strings(hook.env);

  pid_t pid = ::fork();
  if (pid < 0) isolate::throw_sys("fork for", what);
  if (pid == 0) {
    ::dup2(read_end.get(), STDIN_FILENO);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execve(hook.path.c_str(), argv.data(), envp.data());
    ::_exit(127);
  }
  read_end.reset();
  const char* data = state_json.data();
  size_t left = state_json.size();
  while (left > 0) {
    ssize_t n = ::send(write_end.get(), data, left, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    data += n;
    left -= static_cast<size_t>(n);
  }
  write_end.reset();

  isolate::UniqueFd pidfd = isolate::open_pidfd(pid);
  int timeout_ms = hook.timeout ? *hook.timeout * 1000 : -1;
  bool exited = isolate::wait_pidfd_exit(pidfd.get(), timeout_ms);
  if (!exited) {
    isolate::send_signal(pidfd.get(), SIGKILL);
    isolate::wait_child(pid);
    throw std::runtime_error(what + ": timed out after " + std::to_string(*hook.timeout) + "s");
  }
  int status = isolate::wait_child(pid);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
    throw std::runtime_error(what + ": could not be executed (exit status 127)");
  }
  if (WIFSIGNALED(status)) {
    throw std::runtime_error(what + ": killed by signal " + std::to_string(WTERMSIG(status)));
  }
  throw std::runtime_error(what + ": exited with status " + std::to_string(WEXITSTATUS(status)));
}
}  // namespace

void run_hooks(const std::vector<Hook>& hooks, const char* kind, const std::string& state_json) {
  for (const auto& hook : hooks) run_one(hook, kind, state_json);
}

void run_hooks_warn_only(const std::vector<Hook>& hooks, const char* kind,
                         const std::string& state_json) {
  for (const auto& hook : hooks) {
    try {
      run_one(hook, kind, state_json);
    } catch (const std::exception& e) {
      isolate::log_warning(e.what());
    }
  }
}

}  // namespace hanok::oci
