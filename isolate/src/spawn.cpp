#include "isolate/spawn.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "isolate/error.hpp"
#include "isolate/unique_fd.hpp"

extern char** environ;

namespace hanok::isolate {

bool ProgramResult::succeeded() const {
  return WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0;
}

std::string ProgramResult::describe() const {
  if (WIFEXITED(wait_status)) return "exit status " + std::to_string(WEXITSTATUS(wait_status));
  if (WIFSIGNALED(wait_status)) return "killed by signal " + std::to_string(WTERMSIG(wait_status));
  return "wait status " + std::to_string(wait_status);
}

namespace {
// posix_spawn's attributes and file actions, destroyed with the object.
struct SpawnSetup {
  posix_spawnattr_t attr{};
  posix_spawn_file_actions_t actions{};
  SpawnSetup() {
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_init(&actions);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
};
}  // namespace

pid_t spawn_program(const SpawnRequest& request) {
  if (request.argv.empty()) throw_sys("start a program", "(none)", EINVAL);
  SpawnSetup setup;
  sigset_t none;
  sigset_t all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&setup.attr, &none);
  posix_spawnattr_setsigdefault(&setup.attr, &all);
  posix_spawnattr_setflags(&setup.attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  int fds[3] = {request.stdin_fd, request.stdout_fd, request.stderr_fd};
  for (int target = 0; target < 3; ++target) {
    if (fds[target] < 0) {
      posix_spawn_file_actions_addopen(&setup.actions, target, "/dev/null",
                                       target == 0 ? O_RDONLY : O_WRONLY, 0);
    } else {
      posix_spawn_file_actions_adddup2(&setup.actions, fds[target], target);
    }
  }
  // Copies above every target number first, so that no dup2 overwrites a source still needed
  // (and none is a dup2 onto itself, which would keep close-on-exec).
  std::vector<UniqueFd> copies;
  for (size_t i = 0; i < request.pass_fds.size(); ++i) {
    UniqueFd copy(::fcntl(request.pass_fds[i], F_DUPFD_CLOEXEC, 64));
    if (!copy) throw_sys("duplicate an fd for", request.argv[0]);
    posix_spawn_file_actions_adddup2(&setup.actions, copy.get(), static_cast<int>(3 + i));
    copies.push_back(std::move(copy));
  }
  // Nothing else, whether or not it was opened close-on-exec (a library's fd, or one a thread
  // opened in a hurry): only stdio and `pass_fds` reach the program.
  posix_spawn_file_actions_addclosefrom_np(&setup.actions,
                                           static_cast<int>(3 + request.pass_fds.size()));
  if (!request.cwd.empty())
    posix_spawn_file_actions_addchdir_np(&setup.actions, request.cwd.c_str());
  std::vector<char*> args;
  for (const auto& arg : request.argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  std::vector<char*> env;
  for (const auto& entry : request.env) env.push_back(const_cast<char*>(entry.c_str()));
  env.push_back(nullptr);
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, request.argv[0].c_str(), &setup.actions, &setup.attr, args.data(),
                         request.env.empty() ? environ : env.data());
  if (rc != 0) throw_sys("start", request.argv[0], rc);
  return pid;
}

int wait_program(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw_sys("wait for process", std::to_string(pid));
  }
  return status;
}

ProgramResult run_program(const std::vector<std::string>& argv, const std::string& cwd) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) throw_sys("pipe for", argv.empty() ? "" : argv[0]);
  UniqueFd read_end(pipe_fds[0]);
  UniqueFd write_end(pipe_fds[1]);
  SpawnRequest request;
  request.argv = argv;
  request.cwd = cwd;
  request.stdout_fd = write_end.get();
  request.stderr_fd = write_end.get();
  pid_t pid = spawn_program(request);
  write_end.reset();

  ProgramResult result;
  char buffer[4096];
  for (;;) {
    ssize_t n = ::read(read_end.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (result.output.size() < 65536) result.output.append(buffer, static_cast<size_t>(n));
  }
  result.wait_status = wait_program(pid);
  return result;
}

}  // namespace hanok::isolate
