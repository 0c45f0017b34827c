#include "monitor.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstring>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "cri_log.hpp"
#include "isolate/clock.hpp"
#include "isolate/console.hpp"
#include "isolate/error.hpp"
#include "isolate/files.hpp"
#include "isolate/log.hpp"
#include "isolate/pipe.hpp"
#include "isolate/spawn.hpp"
#include "isolate/text.hpp"
#include "isolate/unique_fd.hpp"
#include "isolate/unix_socket.hpp"

namespace hanok::cri::monitor {

using isolate::UniqueFd;

MonitorOptions parse_monitor_flags(const std::vector<std::string>& args) {
  MonitorOptions o;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& flag = args[i];
    auto value = [&]() -> const std::string& {
      if (i + 1 >= args.size()) throw std::invalid_argument(flag + ": needs a value");
      return args[++i];
    };
    if (flag == "--id") {
      o.id = value();
    } else if (flag == "--bundle") {
      o.bundle = value();
    } else if (flag == "--runtime") {
      o.runtime = value();
    } else if (flag == "--runtime-root") {
      o.runtime_root = value();
    } else if (flag == "--log-path") {
      o.log_path = value();
    } else if (flag == "--exit-file") {
      o.exit_file = value();
    } else if (flag == "--sync-fd") {
      auto fd = isolate::parse_i64(value());
      if (!fd || *fd < 0) throw std::invalid_argument("--sync-fd: not an fd number");
      o.sync_fd = static_cast<int>(*fd);
    } else if (flag == "--systemd-cgroup") {
      o.systemd_cgroup = true;
    } else if (flag == "--stdin") {
      o.stdin_open = true;
    } else if (flag == "--tty") {
      o.tty = true;
    } else if (flag == "--restore-from") {
      o.restore_from = value();
    } else {
      throw std::invalid_argument(flag + ": unknown flag");
    }
  }
  for (auto [name, text] : {std::pair{"--id", &o.id},
                            {"--bundle", &o.bundle},
                            {"--runtime", &o.runtime},
                            {"--runtime-root", &o.runtime_root},
                            {"--exit-file", &o.exit_file}}) {
    if (text->empty()) throw std::invalid_argument(std::string(name) + ": required");
  }
  if (o.sync_fd < 0) throw std::invalid_argument("--sync-fd: required");
  return o;
}

std::vector<std::string> monitor_flags(const MonitorOptions& o) {
  std::vector<std::string> flags = {"--id",           o.id,
                                    "--bundle",       o.bundle,
                                    "--runtime",      o.runtime,
                                    "--runtime-root", o.runtime_root,
                                    "--log-path",     o.log_path,
                                    "--exit-file",    o.exit_file,
                                    "--sync-fd",      std::to_string(o.sync_fd)};
  if (o.systemd_cgroup) flags.push_back("--systemd-cgroup");
  if (o.stdin_open) flags.push_back("--stdin");
  if (o.tty) flags.push_back("--tty");
  if (!o.restore_from.empty()) flags.insert(flags.end(), {"--restore-from", o.restore_from});
  return flags;
}

namespace {

// Messages to hanokd on the sync fd: one write each.
void report(int fd, char tag, const std::string& text) {
  if (fd < 0) return;
  std::string message(1, tag);
  message += text;
  message += '\n';
  (void)!::write(fd, message.data(), message.size());
}

// {"pid":..,"exit_code":..,"signal":..,"finished_at":"<RFC 3339>","finished_at_ns":..}: written to
// a temp file, synced, and renamed, so that a reader (hanokd's watch on the exits directory) sees
// it whole or not at all.
void write_exit_file(const std::string& path, pid_t pid, int status) {
  int code = 0;
  int signal = 0;
  if (WIFEXITED(status)) {
    code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    signal = WTERMSIG(status);
    code = 128 + signal;
  }
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  int64_t now_ns = static_cast<int64_t>(now.tv_sec) * 1000000000 + now.tv_nsec;
  std::string json = "{\"pid\":" + std::to_string(pid) + ",\"exit_code\":" + std::to_string(code) +
                     ",\"signal\":" + std::to_string(signal) + ",\"finished_at\":\"" +
                     isolate::rfc3339_now() + "\",\"finished_at_ns\":" + std::to_string(now_ns) +
                     "}\n";
  isolate::write_file_atomic(path, json, 0600);
}

class Monitor {
 public:
  explicit Monitor(const MonitorOptions& options) : options_(options), log_(options.log_path) {}

  int run();

 private:
  void create_container();
  void serve();
  void on_output(int fd, CriLog::Stream& stream, char tag, bool& open);
  void on_control();
  void add_attach_client(UniqueFd connection);
  void on_attach_message(int fd);
  void broadcast(char tag, std::string_view data);
  bool reap();  // true once the init is gone

  const MonitorOptions& options_;
  CriLog log_;
  CriLog::Stream stdout_{log_, "stdout"};
  CriLog::Stream stderr_{log_, "stderr"};
  UniqueFd bundle_;  // the bundle directory: short socket paths through /proc/self/fd
  UniqueFd out_;     // the container's stdout (or its pty master)
  UniqueFd err_;     // the container's stderr (none with a tty)
  UniqueFd in_;      // the write end of the container's stdin, kept for attach
  UniqueFd control_;
  int poller_ = -1;
  std::vector<UniqueFd> attached_;  // attach sessions: they get the output as it comes
  pid_t init_ = -1;
  std::optional<int> init_status_;
};

void Monitor::create_container() {
  bundle_.reset(::open(options_.bundle.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!bundle_) isolate::throw_sys("open the bundle", options_.bundle);
  std::string dir = "/proc/self/fd/" + std::to_string(bundle_.get());

  isolate::Pipe out;
  isolate::Pipe err;
  isolate::Pipe in;
  UniqueFd console;
  isolate::SpawnRequest create;
  create.argv = {options_.runtime, "--root", options_.runtime_root};
  if (options_.systemd_cgroup) create.argv.push_back("--systemd-cgroup");
  std::string runtime_log = options_.bundle + "/create.log";
  create.argv.insert(create.argv.end(), {"--log", runtime_log, "--log-format", "json"});
  if (options_.restore_from.empty()) {
    create.argv.push_back("create");
  } else {
    // The checkpoint's process, its stdio given back as these pipes (no tty: refused at
    // checkpoint).
    create.argv.insert(create.argv.end(),
                       {"restore", "--image-path", options_.restore_from + "/checkpoint",
                        "--work-path", options_.restore_from});
  }
  create.argv.insert(create.argv.end(),
                     {"--bundle", options_.bundle, "--pid-file", options_.bundle + "/init.pid"});
  if (options_.tty) {
    // `hanok create` sends the pty's master here; it reaches the socket through the bundle fd it
    // gets as its fd 3 (the path fits a sockaddr however long the bundle's path is).
    console = isolate::listen_unix(dir + "/console.sock", SOCK_STREAM, 1);
    create.pass_fds = {bundle_.get()};
    create.argv.insert(create.argv.end(), {"--console-socket", "/proc/self/fd/3/console.sock"});
  } else {
    out = isolate::make_pipe("the container's stdout");
    err = isolate::make_pipe("the container's stderr");
    create.stdout_fd = out.write.get();
    create.stderr_fd = err.write.get();
    // Always a pipe (its write end closed at once without stdin): a host file such as
    // /dev/null would be outside the container's mounts, which CRIU cannot checkpoint.
    in = isolate::make_pipe("the container's stdin");
    create.stdin_fd = in.read.get();
  }
  create.argv.push_back(options_.id);
  pid_t runtime = isolate::spawn_program(create);
  int status = isolate::wait_program(runtime);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::string error =
        isolate::last_logged_error(isolate::read_file_if_exists(runtime_log).value_or(""));
    throw std::runtime_error(error.empty() ? "hanok create failed" : error);
  }
  auto pid = isolate::parse_i64(isolate::read_file(options_.bundle + "/init.pid"));
  if (!pid || *pid <= 0) throw std::runtime_error("hanok create wrote no pid");
  init_ = static_cast<pid_t>(*pid);
  if (options_.tty) {
    UniqueFd connection(::accept4(console.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!connection) isolate::throw_sys("accept on", "console.sock");
    out_ = isolate::receive_fd(connection.get());
    ::unlinkat(bundle_.get(), "console.sock", 0);
  } else {
    out_ = std::move(out.read);
    err_ = std::move(err.read);
    if (options_.stdin_open) in_ = std::move(in.write);
  }
  // The container holds its ends of the pipes now; the monitor keeps only its own.
  control_ = isolate::listen_unix(dir + "/monitor.sock", SOCK_SEQPACKET, 8);
}

void Monitor::on_output(int fd, CriLog::Stream& stream, char tag, bool& open) {
  char buffer[32768];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n > 0) {
      stream.write(std::string_view(buffer, static_cast<size_t>(n)));
      broadcast(tag, std::string_view(buffer, static_cast<size_t>(n)));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    // EOF, or EIO from a pty whose other side is gone.
    stream.close();
    open = false;
    return;
  }
}

void Monitor::on_control() {
  UniqueFd connection(::accept4(control_.get(), nullptr, nullptr, SOCK_CLOEXEC));
  if (!connection) return;
  char command[256];
  ssize_t n = ::recv(connection.get(), command, sizeof command, 0);
  if (n <= 0) return;
  std::string reply = "ok";
  if (command[0] == 'A') {
    add_attach_client(std::move(connection));
    return;
  }
  if (command[0] == 'R') {
    try {
      log_.reopen();
    } catch (const std::exception& e) {
      reply = std::string("error ") + e.what();
    }
  } else {
    reply = "error unknown command";
  }
  (void)::send(connection.get(), reply.data(), reply.size(), MSG_NOSIGNAL);
}

void Monitor::add_attach_client(UniqueFd connection) {
  constexpr size_t kMaxAttached = 16;
  if (attached_.size() >= kMaxAttached) {
    const char reply[] = "error too many attach sessions";
    (void)::send(connection.get(), reply, sizeof reply - 1, MSG_NOSIGNAL);
    return;
  }
  // The container's input travels with the answer: the write end of its stdin, or the pty's
  // master (input and window size); the output follows as messages.
  int input = options_.tty ? out_.get() : in_.get();
  if (input >= 0) {
    try {
      isolate::send_fd(connection.get(), input, "ok");
    } catch (const std::exception&) {
      return;
    }
  } else if (::send(connection.get(), "ok", 2, MSG_NOSIGNAL) != 2) {
    return;
  }
  isolate::set_nonblocking(connection.get());
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.fd = connection.get();
  ::epoll_ctl(poller_, EPOLL_CTL_ADD, connection.get(), &event);
  attached_.push_back(std::move(connection));
}

void Monitor::on_attach_message(int fd) {
  char message[16];
  ssize_t n = ::recv(fd, message, sizeof message, MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n > 0 && message[0] == 'c') {
    // stdin_once: the first attach session that ends closes the container's stdin.
    in_.reset();
    return;
  }
  if (n > 0) return;
  ::epoll_ctl(poller_, EPOLL_CTL_DEL, fd, nullptr);
  std::erase_if(attached_, [&](const UniqueFd& client) { return client.get() == fd; });
}

void Monitor::broadcast(char tag, std::string_view data) {
  if (attached_.empty()) return;
  std::string message(1, tag);
  message.append(data);
  // A session that cannot take it now misses it (the log has it): never wait on a client.
  for (const auto& client : attached_) {
    (void)::send(client.get(), message.data(), message.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  }
}

bool Monitor::reap() {
  for (;;) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) break;
    if (pid == init_) init_status_ = status;
  }
  return init_status_.has_value();
}

void Monitor::serve() {
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  UniqueFd signals(::signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!signals) isolate::throw_sys("signalfd", "");
  UniqueFd poller(::epoll_create1(EPOLL_CLOEXEC));
  if (!poller) isolate::throw_sys("epoll_create1", "");
  poller_ = poller.get();
  auto watch = [&](int fd) {
    if (fd < 0) return;
    isolate::set_nonblocking(fd);
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.fd = fd;
    ::epoll_ctl(poller.get(), EPOLL_CTL_ADD, fd, &event);
  };
  watch(signals.get());
  watch(out_.get());
  watch(err_.get());
  watch(control_.get());
  bool out_open = out_.valid();
  bool err_open = err_.valid();

  bool done = reap();  // it may be gone already
  while (!done) {
    epoll_event events[8];
    int n = ::epoll_wait(poller.get(), events, 8, -1);
    if (n < 0 && errno == EINTR) continue;
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == signals.get()) {
        signalfd_siginfo info;
        while (::read(signals.get(), &info, sizeof info) == sizeof info) {
        }
        done = reap();
      } else if (fd == out_.get() && out_open) {
        on_output(fd, stdout_, 1, out_open);
        if (!out_open) ::epoll_ctl(poller.get(), EPOLL_CTL_DEL, fd, nullptr);
      } else if (fd == err_.get() && err_open) {
        on_output(fd, stderr_, 2, err_open);
        if (!err_open) ::epoll_ctl(poller.get(), EPOLL_CTL_DEL, fd, nullptr);
      } else if (fd == control_.get()) {
        on_control();
      } else {
        on_attach_message(fd);
      }
    }
  }
  // The init is gone: what it (and its children) wrote before is still in the pipes. Processes
  // left in a shared pid namespace may hold them open: take what is there, do not wait for EOF.
  if (out_open) on_output(out_.get(), stdout_, 1, out_open);
  if (err_open) on_output(err_.get(), stderr_, 2, err_open);
  stdout_.close();
  stderr_.close();
  attached_.clear();  // attach sessions see the end
  poller_ = -1;
}

int Monitor::run() {
  try {
    create_container();
  } catch (const std::exception& e) {
    report(options_.sync_fd, 'E', e.what());
    return 1;
  }
  report(options_.sync_fd, 'C', std::to_string(init_));
  ::close(options_.sync_fd);
  serve();
  write_exit_file(options_.exit_file, init_, *init_status_);
  ::unlinkat(bundle_.get(), "monitor.sock", 0);
  return 0;
}

}  // namespace

int run_monitor(const MonitorOptions& options) {
  // Not hanokd's child: the first process ends at once (hanokd reaps it), the second goes on
  // in a session of its own.
  pid_t pid = ::fork();
  if (pid < 0) {
    report(options.sync_fd, 'E', "fork: " + isolate::errno_text(errno));
    return 1;
  }
  if (pid > 0) return 0;
  ::setsid();
  report(options.sync_fd, 'M', std::to_string(::getpid()));
  // The subreaper of the container: its init is re-parented here when `hanok create` ends.
  ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  ::signal(SIGPIPE, SIG_IGN);
  ::signal(SIGHUP, SIG_IGN);
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  ::sigprocmask(SIG_BLOCK, &chld, nullptr);
  try {
    Monitor monitor(options);
    return monitor.run();
  } catch (const std::exception& e) {
    report(options.sync_fd, 'E', e.what());
    return 1;
  }
}

}  // namespace hanok::cri::monitor
