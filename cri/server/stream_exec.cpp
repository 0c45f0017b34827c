// The streaming Exec: `hanok exec` of the command in the running container, its stdio on pipes
// (or a pty when tty: the runtime sends the master over a console socket), pumped to and from
// the client's streams; the exit code as the final status.
#include <fcntl.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <signal.h>
#include <atomic>
#include <stdexcept>
#include <thread>

#include "exec_process.hpp"
#include "isolate/console.hpp"
#include "isolate/error.hpp"
#include "isolate/files.hpp"
#include "isolate/log.hpp"
#include "isolate/pipe.hpp"
#include "isolate/process.hpp"
#include "isolate/spawn.hpp"
#include "isolate/unix_socket.hpp"
#include "remote_command.hpp"
#include "runtime_core.hpp"
#include "stream_io.hpp"
#include "stream_sessions.hpp"

namespace hanok::cri {

namespace {

using isolate::UniqueFd;
constexpr int kConsoleTimeoutMs = 30000;

// The pty master `hanok exec` sends to `listener` (while the runtime still runs).
UniqueFd receive_console(int listener, int runtime_pidfd) {
  pollfd fds[2] = {{listener, POLLIN, 0}, {runtime_pidfd, POLLIN, 0}};
  for (;;) {
    int ready = ::poll(fds, 2, kConsoleTimeoutMs);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) throw std::runtime_error("the runtime sent no terminal in time");
    if ((fds[0].revents & POLLIN) == 0) throw std::runtime_error("the runtime ended first");
    UniqueFd connection(::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
    if (!connection) isolate::throw_sys("accept the exec's console", "");
    return isolate::receive_fd(connection.get());
  }
}

class ExecRun {
 public:
  ExecRun(RuntimeCore& core, StreamTransport& session, const CommandStreams& streams,
          const store::ContainerRecord& container, const std::vector<std::string>& cmd, bool tty)
      : core_(core),
        session_(session),
        streams_(streams),
        container_(container),
        cmd_(cmd),
        tty_(tty),
        files_(container.bundle()) {}
  // Whatever happened: the runtime (and the process) killed if still running, and reaped; the
  // threads stopped and joined.
  ~ExecRun();
  ExecRun(const ExecRun&) = delete;
  ExecRun& operator=(const ExecRun&) = delete;

  int run();

 private:
  void start();
  void start_threads();
  void pump_output();
  void stop_threads();
  // The runtime's own error (its log), else `fallback`.
  std::string runtime_error(const std::string& fallback) const;

  RuntimeCore& core_;
  StreamTransport& session_;
  const CommandStreams& streams_;
  const store::ContainerRecord& container_;
  const std::vector<std::string>& cmd_;
  bool tty_;
  ExecFiles files_;
  pid_t runtime_ = -1;
  UniqueFd runtime_pidfd_;
  UniqueFd input_;   // the process's stdin (or the pty master)
  UniqueFd output_;  // its stdout (or the pty master)
  UniqueFd errors_;  // its stderr (none with a tty)
  std::atomic<bool> done_{false};
  std::thread input_thread_;
  std::thread resize_thread_;
};

ExecRun::~ExecRun() {
  stop_threads();
  if (runtime_ > 0) {
    if (runtime_pidfd_) isolate::send_signal(runtime_pidfd_.get(), SIGKILL);
    kill_exec(files_.pid, container_.cgroup_path());
    isolate::wait_program(runtime_);
  }
}

void ExecRun::stop_threads() {
  done_ = true;
  if (streams_.stdin) session_.stop_reading(*streams_.stdin);
  if (streams_.resize) session_.stop_reading(*streams_.resize);
  if (input_thread_.joinable()) input_thread_.join();
  if (resize_thread_.joinable()) resize_thread_.join();
}

std::string ExecRun::runtime_error(const std::string& fallback) const {
  std::string error =
      isolate::last_logged_error(isolate::read_file_if_exists(files_.log).value_or(""));
  return error.empty() ? fallback : error;
}

void ExecRun::start() {
  isolate::SpawnRequest spawn;
  UniqueFd bundle(::open(container_.bundle().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!bundle) isolate::throw_sys("open the bundle", container_.bundle());
  UniqueFd console_listener;
  std::string socket_name = "exec-" + files_.tag + ".sock";
  isolate::Pipe in;
  isolate::Pipe out;
  isolate::Pipe err;
  // The console socket's file goes with this function, whichever way it ends.
  struct SocketFile {
    int dir;
    const std::string& name;
    bool made = false;
    ~SocketFile() {
      if (made) ::unlinkat(dir, name.c_str(), 0);
    }
  } socket_file{bundle.get(), socket_name};
  if (tty_) {
    console_listener = isolate::listen_unix(
        "/proc/self/fd/" + std::to_string(bundle.get()) + "/" + socket_name, SOCK_STREAM, 1);
    socket_file.made = true;
    spawn.pass_fds = {bundle.get()};
    spawn.argv =
        prepare_exec(core_, container_, cmd_, true, files_, "/proc/self/fd/3/" + socket_name);
  } else {
    spawn.argv = prepare_exec(core_, container_, cmd_, false, files_);
    if (streams_.stdin) {
      in = isolate::make_pipe("an exec's stdin");
      spawn.stdin_fd = in.read.get();
    }
    out = isolate::make_pipe("an exec's stdout");
    err = isolate::make_pipe("an exec's stderr");
    spawn.stdout_fd = out.write.get();
    spawn.stderr_fd = err.write.get();
  }
  runtime_ = isolate::spawn_program(spawn);
  runtime_pidfd_ = isolate::open_pidfd(runtime_);  // our child: its pid stays ours until reaped
  if (tty_) {
    try {
      output_ = receive_console(console_listener.get(), runtime_pidfd_.get());
    } catch (const std::exception& e) {
      if (isolate::wait_pidfd_exit(runtime_pidfd_.get(), 0)) {
        isolate::wait_program(runtime_);
        runtime_ = -1;
      }
      throw std::runtime_error(runtime_error(e.what()));
    }
    input_.reset(::fcntl(output_.get(), F_DUPFD_CLOEXEC, 0));
  } else {
    input_ = std::move(in.write);
    output_ = std::move(out.read);
    errors_ = std::move(err.read);
  }
  for (int fd : {input_.get(), output_.get(), errors_.get()}) {
    if (fd >= 0) isolate::set_nonblocking(fd);
  }
}

void ExecRun::pump_output() {
  bool out_open = output_.valid();
  bool err_open = errors_.valid();
  bool killed = false;
  auto sink_for = [&](const std::optional<uint32_t>& stream) {
    return [&, stream](std::string_view data) { return !stream || session_.write(*stream, data); };
  };
  // With a tty everything the process writes comes out of the master, for stdout.
  auto out_sink = sink_for(streams_.stdout);
  auto err_sink = sink_for(streams_.stderr);
  for (;;) {
    pollfd fds[3] = {{runtime_pidfd_.get(), POLLIN, 0},
                     {out_open ? output_.get() : -1, POLLIN, 0},
                     {err_open ? errors_.get() : -1, POLLIN, 0}};
    int ready = ::poll(fds, 3, 1000);
    if (ready < 0 && errno != EINTR) break;
    if (!session_.alive() && !killed) {
      // The client is gone: nobody would see the rest. End the process (again at the next turn
      // if the runtime has not written its pid yet).
      killed = kill_exec(files_.pid, container_.cgroup_path());
    }
    if (out_open && (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      out_open = forward_available(output_.get(), out_sink);
    }
    if (err_open && (fds[2].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      err_open = forward_available(errors_.get(), err_sink);
    }
    if ((fds[0].revents & POLLIN) != 0) {
      // The runtime (and so the process) ended: what it wrote is in the pipes; children it left
      // may hold them open, so take what is there rather than wait for EOF.
      if (out_open) forward_available(output_.get(), out_sink);
      if (err_open) forward_available(errors_.get(), err_sink);
      break;
    }
  }
}

void ExecRun::start_threads() {
  if (streams_.stdin && input_.valid()) {
    input_thread_ = std::thread([this] {
      pump_stream_to_fd(session_, *streams_.stdin, input_.get(), done_);
      session_.stop_reading(*streams_.stdin);  // whatever ended it: nothing more is read
      if (!tty_) input_.reset();               // the process sees EOF on its stdin
    });
  }
  if (streams_.resize && tty_) {
    resize_thread_ = std::thread([this] {
      ResizeDecoder decoder;
      for (;;) {
        std::string data = session_.read(*streams_.resize);
        if (data.empty()) return;
        for (auto size : decoder.feed(data)) {
          try {
            isolate::set_window_size(output_.get(), size.height, size.width);
          } catch (const std::exception& e) {
            spdlog::debug("exec resize: {}", e.what());
          }
        }
      }
    });
  }
}

int ExecRun::run() {
  start();
  start_threads();  // a failure here unwinds through ~ExecRun: process killed, threads joined
  pump_output();
  int status = isolate::wait_program(runtime_);
  runtime_ = -1;
  stop_threads();
  int code = exec_exit_code(status);
  if (code != 0) {
    std::string error = runtime_error("");
    if (!error.empty()) throw std::runtime_error(error);
  }
  return code;
}

}  // namespace

void serve_exec(RuntimeCore& core, StreamTransport& session, const CommandStreams& streams,
                const runtime::v1::ExecRequest& request) {
  std::vector<std::string> cmd(request.cmd().begin(), request.cmd().end());
  CommandOutcome outcome;
  outcome.command = command_text(cmd);
  try {
    auto container = core.find_container(request.container_id());
    if (!container || container->state() != runtime::v1::CONTAINER_RUNNING) {
      throw std::runtime_error("container " + request.container_id() + " is not running");
    }
    ExecRun run(core, session, streams, *container, cmd, request.tty());
    outcome.exit_code = run.run();
  } catch (const std::exception& e) {
    outcome.error = e.what();
    spdlog::warn("exec in {}: {}", request.container_id(), e.what());
  }
  for (const auto& stream : {streams.stdout, streams.stderr}) {
    if (stream) session.finish(*stream);
  }
  write_command_status(session, streams, outcome);
}

}  // namespace hanok::cri
