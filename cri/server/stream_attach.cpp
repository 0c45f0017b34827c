// The streaming Attach: an attach session with the container's monitor (its monitor.sock, "A"):
// the container's output as the monitor sends it, the client's input into the container's stdin
// (or pty) that came with the monitor's answer, window sizes on the pty. When the client ends
// its stdin, the session ends, unless the container is stdin_once: then its stdin is closed
// and the output goes on until the container ends it.
#include <fcntl.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "isolate/console.hpp"
#include "isolate/error.hpp"
#include "isolate/pipe.hpp"
#include "isolate/unix_socket.hpp"
#include "remote_command.hpp"
#include "runtime_core.hpp"
#include "stream_io.hpp"
#include "stream_sessions.hpp"

namespace hanok::cri {

namespace {

using isolate::UniqueFd;

// The monitor's answer to "A": "ok", with the container's input fd when it has one.
UniqueFd receive_attach_answer(int connection) {
  char text[256] = {};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  iovec vector{text, sizeof text - 1};
  msghdr message{};
  message.msg_iov = &vector;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof control;
  ssize_t n = ::recvmsg(connection, &message, MSG_CMSG_CLOEXEC);
  if (n <= 0) throw std::runtime_error("the container's monitor did not answer");
  UniqueFd input;
  for (cmsghdr* header = CMSG_FIRSTHDR(&message); header != nullptr;
       header = CMSG_NXTHDR(&message, header)) {
    if (header->cmsg_level == SOL_SOCKET && header->cmsg_type == SCM_RIGHTS) {
      int fd = -1;
      std::memcpy(&fd, CMSG_DATA(header), sizeof fd);
      input.reset(fd);
    }
  }
  std::string answer(text, static_cast<size_t>(n));
  if (answer != "ok") throw std::runtime_error("the container's monitor: " + answer);
  return input;
}

void attach(StreamTransport& session, const CommandStreams& streams,
            const store::ContainerRecord& container) {
  UniqueFd bundle(::open(container.bundle().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!bundle) isolate::throw_sys("open the bundle", container.bundle());
  UniqueFd monitor =
      isolate::connect_unix("/proc/self/fd/" + std::to_string(bundle.get()) + "/monitor.sock",
                            SOCK_SEQPACKET, "connect to the container's monitor at");
  if (::send(monitor.get(), "A", 1, MSG_NOSIGNAL) != 1) {
    isolate::throw_sys("ask the container's monitor to attach", container.bundle());
  }
  UniqueFd input = receive_attach_answer(monitor.get());
  bool tty = container.config().tty();
  bool stdin_once = container.config().stdin_once();
  if (input.valid()) isolate::set_nonblocking(input.get());

  std::atomic<bool> done{false};
  std::atomic<bool> client_stdin_ended{false};
  int wake[2];
  if (::pipe2(wake, O_CLOEXEC | O_NONBLOCK) != 0) isolate::throw_sys("pipe", "");
  UniqueFd wake_read(wake[0]);
  UniqueFd wake_write(wake[1]);
  // The threads end whichever way this function does: stopped, their reads ended, joined.
  struct Threads {
    StreamTransport& session;
    const CommandStreams& streams;
    std::atomic<bool>& done;
    std::thread input, resize;
    ~Threads() {
      done = true;
      if (streams.stdin) session.stop_reading(*streams.stdin);
      if (streams.resize) session.stop_reading(*streams.resize);
      if (input.joinable()) input.join();
      if (resize.joinable()) resize.join();
    }
  } threads{session, streams, done, {}, {}};
  // What nobody will read is not kept (the client's data on it is dropped, never waited on).
  if (streams.stdin && !input.valid()) session.stop_reading(*streams.stdin);
  if (streams.resize && !(tty && input.valid())) session.stop_reading(*streams.resize);
  if (streams.stdin && input.valid()) {
    threads.input = std::thread([&] {
      bool finished = pump_stream_to_fd(session, *streams.stdin, input.get(), done);
      session.stop_reading(*streams.stdin);
      if (!finished) return;
      if (stdin_once && !tty) {
        // Its stdin closes (this session's copy, then the monitor's); the output goes on.
        input.reset();
        (void)::send(monitor.get(), "c", 1, MSG_NOSIGNAL);
        return;
      }
      client_stdin_ended = true;
      (void)::write(wake_write.get(), "x", 1);
    });
  }
  if (streams.resize && tty && input.valid()) {
    threads.resize = std::thread([&] {
      ResizeDecoder decoder;
      for (;;) {
        std::string data = session.read(*streams.resize);
        if (data.empty()) return;
        for (auto size : decoder.feed(data)) {
          try {
            isolate::set_window_size(input.get(), size.height, size.width);
          } catch (const std::exception& e) {
            spdlog::debug("attach resize: {}", e.what());
          }
        }
      }
    });
  }
  std::string buffer(64 * 1024 + 1, '\0');
  while (session.alive() && !client_stdin_ended) {
    pollfd fds[2] = {{monitor.get(), POLLIN, 0}, {wake_read.get(), POLLIN, 0}};
    int ready = ::poll(fds, 2, 1000);
    if (ready < 0 && errno != EINTR) break;
    if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
    ssize_t n = ::recv(monitor.get(), buffer.data(), buffer.size(), MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n <= 0) break;  // the container's output ended
    std::string_view data(buffer.data() + 1, static_cast<size_t>(n) - 1);
    const auto& stream = (buffer[0] == 2 && !tty) ? streams.stderr : streams.stdout;
    if (stream && !session.write(*stream, data)) break;
  }
}

}  // namespace

void serve_attach(RuntimeCore& core, StreamTransport& session, const CommandStreams& streams,
                  const runtime::v1::AttachRequest& request) {
  CommandOutcome outcome;
  try {
    auto container = core.find_container(request.container_id());
    if (!container || container->state() != runtime::v1::CONTAINER_RUNNING) {
      throw std::runtime_error("container " + request.container_id() + " is not running");
    }
    attach(session, streams, *container);
  } catch (const std::exception& e) {
    outcome.error = e.what();
    spdlog::warn("attach to {}: {}", request.container_id(), e.what());
  }
  for (const auto& stream : {streams.stdout, streams.stderr}) {
    if (stream) session.finish(*stream);
  }
  write_command_status(session, streams, outcome);
}

}  // namespace hanok::cri
