#include "captured_run.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <optional>

#include "isolate/error.hpp"
#include "isolate/pipe.hpp"
#include "isolate/process.hpp"
#include "isolate/spawn.hpp"
#include "isolate/unique_fd.hpp"

namespace hanok::cri {

namespace {
using Clock = std::chrono::steady_clock;

// Where output goes: a string of at most `limit` bytes (the rest is read and dropped) whose
// memory, when there is a budget, is drawn from it before the string grows.
struct Sink {
  std::string& text;
  size_t limit;
  BudgetShare* budget;
  bool exhausted = false;

  void append(const char* data, size_t size) {
    if (exhausted || text.size() >= limit) return;
    size = std::min(size, limit - text.size());
    size_t needed = text.size() + size;
    if (budget != nullptr && needed > text.capacity()) {
      // What the string will allocate (it at least doubles), charged before it does.
      size_t before = text.capacity();
      size_t capacity = std::max(needed, 2 * before);
      if (!budget->grow(capacity - before)) {
        exhausted = true;
        return;
      }
      text.reserve(capacity);
      if (text.capacity() > capacity && !budget->grow(text.capacity() - capacity)) {
        exhausted = true;
        return;
      }
    }
    text.append(data, size);
  }
};

// Appends what one read gives to `sink`. False at the end of the stream.
bool read_into(int fd, Sink& sink) {
  char buffer[65536];
  ssize_t got = ::read(fd, buffer, sizeof buffer);
  if (got < 0) return errno == EINTR;
  if (got == 0) return false;
  sink.append(buffer, static_cast<size_t>(got));
  return true;
}

// What is left in a pipe once its writer exited, without waiting for others that hold it.
void drain(int fd, Sink& sink) {
  if (fd < 0) return;
  isolate::set_nonblocking(fd);
  char buffer[65536];
  for (;;) {
    ssize_t got = ::read(fd, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return;  // the end, or nothing more for now (EAGAIN)
    sink.append(buffer, static_cast<size_t>(got));
  }
}
}  // namespace

CapturedRun run_captured(const CaptureRequest& capture, const images::StopToken& stop,
                         const std::function<void()>& on_give_up) {
  const std::string& program = capture.argv.at(0);
  isolate::Pipe out = isolate::make_pipe(program);
  isolate::Pipe err = isolate::make_pipe(program);
  isolate::Pipe in;
  if (!capture.input.empty()) {
    if (capture.input.size() > 65536) {
      throw isolate::Error(isolate::ErrorKind::Invalid, "input for " + program + " over 64 KiB");
    }
    in = isolate::make_pipe(program);
    // It fits the pipe's buffer: written whole before the program starts.
    if (::write(in.write.get(), capture.input.data(), capture.input.size()) !=
        static_cast<ssize_t>(capture.input.size())) {
      isolate::throw_sys("write the input of", program);
    }
    in.write.reset();
  }
  isolate::SpawnRequest request;
  request.argv = capture.argv;
  request.env = capture.env;
  request.stdin_fd = in.read ? in.read.get() : -1;
  request.stdout_fd = out.write.get();
  request.stderr_fd = err.write.get();
  pid_t pid = isolate::spawn_program(request);
  out.write.reset();
  err.write.reset();
  in.read.reset();
  isolate::UniqueFd process = isolate::open_pidfd(pid);

  CapturedRun run;
  auto deadline = Clock::now() + capture.timeout;
  std::optional<Clock::time_point> kill_at;
  bool killed = false;
  pollfd fds[3] = {
      {out.read.get(), POLLIN, 0}, {err.read.get(), POLLIN, 0}, {process.get(), POLLIN, 0}};
  Sink sinks[2] = {{run.out, capture.limit, capture.budget},
                   {run.err, capture.limit, capture.budget}};
  for (;;) {
    int wait_ms = 100;  // the stop token is asked this often
    if (!kill_at && capture.timeout.count() > 0) {
      auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      wait_ms = static_cast<int>(std::clamp<long>(left, 0, wait_ms));
    }
    int n = ::poll(fds, 3, wait_ms);
    if (n < 0 && errno != EINTR) isolate::throw_sys("poll the output of", program);
    for (int i = 0; n > 0 && i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      if (!read_into(fds[i].fd, sinks[i])) fds[i].fd = -1;
    }
    if (n > 0 && fds[2].revents != 0) break;  // it exited
    auto now = Clock::now();
    if (!kill_at) {
      bool expired = capture.timeout.count() > 0 && now >= deadline;
      bool stopped = stop.reason().has_value();
      bool exhausted = sinks[0].exhausted || sinks[1].exhausted;
      if (expired || stopped || exhausted) {
        run.timed_out = expired;
        run.stopped = stopped && !expired;
        run.exhausted = exhausted && !expired && !stopped;
        kill_at = now + capture.grace;
        on_give_up();
      }
    } else if (!killed && now >= *kill_at) {
      isolate::send_signal(process.get(), SIGKILL);
      killed = true;
    }
  }
  drain(fds[0].fd, sinks[0]);
  drain(fds[1].fd, sinks[1]);
  if (!run.timed_out && !run.stopped && (sinks[0].exhausted || sinks[1].exhausted)) {
    run.exhausted = true;
  }
  run.wait_status = isolate::wait_program(pid);
  return run;
}

}  // namespace hanok::cri
