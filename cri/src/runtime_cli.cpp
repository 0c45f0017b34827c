#include "runtime_cli.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <functional>

#include "isolate/error.hpp"
#include "isolate/files.hpp"
#include "isolate/spawn.hpp"
#include "isolate/text.hpp"

namespace hanok::cri {

namespace {
std::string own_dir() {
  std::error_code error;
  auto self = std::filesystem::read_symlink("/proc/self/exe", error);
  return error ? std::string() : self.parent_path().string();
}

std::string pick(const std::string& configured, const char* name) {
  if (!configured.empty()) return configured;
  return own_dir() + "/" + name;
}

// The runtime's last words: its output's last non-empty line, without a "level=error" prefix.
std::string runtime_message(const std::string& output) {
  std::string last;
  for (std::string_view line : isolate::split(output, "\n")) {
    std::string_view text = isolate::trim(line);
    if (!text.empty()) last = std::string(text);
  }
  return last.empty() ? "no message" : last;
}
}  // namespace

HelperBinaries locate_helpers(const std::string& runtime, const std::string& monitor) {
  return {pick(runtime, "hanok"), pick(monitor, "hanok-monitor")};
}

std::vector<std::string> RuntimeCli::base(bool systemd_cgroup) const {
  std::vector<std::string> argv = {binary_, "--root", root_};
  if (systemd_cgroup) argv.emplace_back("--systemd-cgroup");
  return argv;
}

void RuntimeCli::run(const std::vector<std::string>& args, bool systemd_cgroup) const {
  std::vector<std::string> argv = base(systemd_cgroup);
  argv.insert(argv.end(), args.begin(), args.end());
  isolate::ProgramResult result = isolate::run_program(argv);
  if (!result.succeeded()) {
    throw isolate::Error(isolate::ErrorKind::Internal, "hanok " + args.front() + ": " +
                                                           runtime_message(result.output) + " (" +
                                                           result.describe() + ")");
  }
}

void RuntimeCli::kill(const std::string& id, int signal, bool all) const {
  std::vector<std::string> args = {"kill"};
  if (all) args.emplace_back("--all");
  args.insert(args.end(), {id, std::to_string(signal)});
  run(args);
}

void RuntimeCli::remove(const std::string& id, bool force) const {
  std::vector<std::string> args = {"delete"};
  if (force) args.emplace_back("--force");
  args.push_back(id);
  run(args);
}

void RuntimeCli::update(const std::string& id, const nlohmann::json& resources, bool systemd_cgroup,
                        const std::string& scratch_dir) const {
  std::string file = scratch_dir + "/update-resources.json";
  isolate::write_file_atomic(file, resources.dump(), 0600);
  try {
    run({"update", "--resources", file, id}, systemd_cgroup);
  } catch (...) {
    ::unlink(file.c_str());
    throw;
  }
  ::unlink(file.c_str());
}

std::vector<std::string> RuntimeCli::exec_argv(const std::string& id,
                                               const std::string& process_file,
                                               const std::string& pid_file) const {
  std::vector<std::string> argv = base(false);
  argv.insert(argv.end(), {"exec", "--process", process_file, "--pid-file", pid_file, id});
  return argv;
}

CapturedRun run_captured(const CaptureRequest& capture, const images::StopToken& stop,
                         const std::function<void()>& on_timeout) {
  const auto& argv = capture.argv;
  auto timeout = capture.timeout;
  size_t limit = capture.limit;
  int out_pipe[2];
  int err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) isolate::throw_sys("pipe for", argv[0]);
  isolate::UniqueFd out_read(out_pipe[0]);
  isolate::UniqueFd out_write(out_pipe[1]);
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) isolate::throw_sys("pipe for", argv[0]);
  isolate::UniqueFd err_read(err_pipe[0]);
  isolate::UniqueFd err_write(err_pipe[1]);
  isolate::UniqueFd in_read;
  if (!capture.input.empty()) {
    if (capture.input.size() > 65536) {
      throw isolate::Error(isolate::ErrorKind::Invalid, "input for " + argv[0] + " over 64 KiB");
    }
    int in_pipe[2];
    if (::pipe2(in_pipe, O_CLOEXEC) != 0) isolate::throw_sys("pipe for", argv[0]);
    in_read.reset(in_pipe[0]);
    isolate::UniqueFd in_write(in_pipe[1]);
    // It fits the pipe's buffer: written whole before the program starts.
    if (::write(in_write.get(), capture.input.data(), capture.input.size()) !=
        static_cast<ssize_t>(capture.input.size())) {
      isolate::throw_sys("write the input of", argv[0]);
    }
  }
  isolate::SpawnRequest request;
  request.argv = argv;
  request.env = capture.env;
  request.stdin_fd = in_read ? in_read.get() : -1;
  request.stdout_fd = out_write.get();
  request.stderr_fd = err_write.get();
  pid_t pid = isolate::spawn_program(request);
  out_write.reset();
  err_write.reset();
  in_read.reset();

  CapturedRun run;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  bool told = false;
  pollfd fds[2] = {{out_read.get(), POLLIN, 0}, {err_read.get(), POLLIN, 0}};
  std::string* sinks[2] = {&run.out, &run.err};
  int open = 2;
  while (open > 0) {
    int wait_ms = 200;
    if (!told && timeout.count() > 0) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                      deadline - std::chrono::steady_clock::now())
                      .count();
      wait_ms = static_cast<int>(std::clamp<long>(left, 0, 200));
    }
    int n = ::poll(fds, 2, wait_ms);
    if (n < 0 && errno != EINTR) isolate::throw_sys("poll the output of", argv[0]);
    for (int i = 0; n > 0 && i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buffer[65536];
      ssize_t got = ::read(fds[i].fd, buffer, sizeof buffer);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) {
        fds[i].fd = -1;
        --open;
        continue;
      }
      std::string& sink = *sinks[i];
      if (sink.size() < limit) {
        sink.append(buffer, std::min(static_cast<size_t>(got), limit - sink.size()));
      }
    }
    if (told) continue;
    bool expired = timeout.count() > 0 && std::chrono::steady_clock::now() >= deadline;
    bool stopped = stop.reason().has_value();
    if (expired || stopped) {
      run.timed_out = expired;
      run.stopped = stopped && !expired;
      told = true;
      on_timeout();
    }
  }
  run.wait_status = isolate::wait_program(pid);
  return run;
}

}  // namespace hanok::cri
