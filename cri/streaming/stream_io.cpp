#include "stream_io.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>

namespace hanok::cri {

bool write_fully(int fd, std::string_view data, const std::atomic<bool>& stop) {
  while (!data.empty()) {
    if (stop) return false;
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      pollfd pfd{fd, POLLOUT, 0};
      ::poll(&pfd, 1, 100);
      continue;
    }
    return false;
  }
  return true;
}

bool pump_stream_to_fd(StreamTransport& session, uint32_t stream, int fd,
                       const std::atomic<bool>& stop) {
  for (;;) {
    std::string data = session.read(stream);
    if (data.empty()) return !stop;
    if (!write_fully(fd, data, stop)) return false;
  }
}

bool forward_available(int fd, const std::function<bool(std::string_view)>& sink) {
  char buffer[32 * 1024];
  // Bounded: a process that writes without end must not keep the caller from its other duties.
  for (int reads = 0; reads < 8; ++reads) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n > 0) {
      if (!sink(std::string_view(buffer, static_cast<size_t>(n)))) return false;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return true;
    return false;  // EOF, or EIO from a pty whose other side is gone
  }
  return true;
}

}  // namespace hanok::cri
