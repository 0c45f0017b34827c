#include "isolate/sync_channel.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include "isolate/error.hpp"

namespace hanok::isolate {

std::pair<SyncChannel, SyncChannel> SyncChannel::create_pair() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) != 0) {
    throw_sys("socketpair", "");
  }
  return {SyncChannel(UniqueFd(fds[0])), SyncChannel(UniqueFd(fds[1]))};
}

void SyncChannel::send(char tag, std::string_view payload) const {
  std::string message(1, tag);
  message.append(payload);
  while (::send(fd_.get(), message.data(), message.size(), MSG_NOSIGNAL) < 0) {
    if (errno != EINTR) throw_sys("send on the sync channel", "");
  }
}

void SyncChannel::write(char tag, std::string_view payload) const {
  std::string message(1, tag);
  message.append(payload);
  while (::write(fd_.get(), message.data(), message.size()) < 0) {
    if (errno != EINTR) throw_sys("write on the sync channel", "");
  }
}

SyncMessage SyncChannel::receive() const {
  char buffer[65536];
  ssize_t n;
  do {
    n = ::recv(fd_.get(), buffer, sizeof buffer, 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == ECONNRESET) return {};
    throw_sys("receive on the sync channel", "");
  }
  if (n == 0) return {};
  return {buffer[0], std::string(buffer + 1, static_cast<size_t>(n - 1))};
}

}  // namespace hanok::isolate
