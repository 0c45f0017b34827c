// The runtime <-> container-init channel: one SOCK_SEQPACKET socket pair, tagged messages.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include "isolate/unique_fd.hpp"

namespace hanok::isolate {

struct SyncMessage {
  char tag = 0;  // 0: the other side closed the channel
  std::string payload;
};

class SyncChannel {
 public:
  SyncChannel() = default;
  explicit SyncChannel(UniqueFd fd) : fd_(std::move(fd)) {}
  static std::pair<SyncChannel, SyncChannel> create_pair();

  void send(char tag, std::string_view payload = {}) const;
  // As send, with write(2): what a container's init uses after its seccomp filter is loaded (a
  // profile is likelier to allow write than sendto). SIGPIPE if the other side is gone.
  void write(char tag, std::string_view payload = {}) const;
  SyncMessage receive() const;
  int fd() const { return fd_.get(); }
  void close() { fd_.reset(); }

 private:
  UniqueFd fd_;
};

}  // namespace hanok::isolate
