// Private to cri/: the server side of a WebSocket connection (RFC 6455) of the streaming server,
// carrying the kubelet's channel protocols: every message starts with its channel (a byte, or
// with the base64 protocols a digit before base64 text): 0 stdin, 1 stdout, 2 stderr, 3 error,
// 4 resize; with v5.channel.k8s.io the client ends a channel with a message on channel 255
// naming it. A reader thread takes the client's frames (masked, as RFC 6455 requires of
// clients; answering pings, assembling fragments) into one bounded inbox per channel.
#pragma once

#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "isolate/unique_fd.hpp"
#include "stream_inboxes.hpp"
#include "stream_transport.hpp"

namespace hanok::cri::websocket {

// The Sec-WebSocket-Accept answer to a client's Sec-WebSocket-Key.
std::string accept_key(const std::string& key);

class Connection final : public StreamTransport {
 public:
  // `base64`: the base64 channel protocols (text messages); `close_signal`: v5's channel 255;
  // `channels`: how many there are (0 .. channels-1).
  Connection(isolate::UniqueFd socket, bool base64, bool close_signal, uint32_t channels = 5);
  ~Connection() override;  // ends the connection, joins the reader
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  std::string read(uint32_t channel) override;
  void stop_reading(uint32_t channel) override;
  bool write(uint32_t channel, std::string_view data) override;
  void finish(uint32_t channel) override;  // nothing to send: the connection's end says it
  bool alive() const override;
  // A close frame with `code` (1000: normal), then the end of the connection.
  void close(uint16_t code = 1000);

 private:
  void read_loop();
  void on_message(std::string message);
  bool send_frame(uint8_t opcode, std::string_view payload);

  isolate::UniqueFd socket_;
  bool base64_;
  bool close_signal_;
  std::mutex write_mutex_;
  bool close_sent_ = false;
  StreamInboxes inboxes_;
  std::thread reader_;
};

}  // namespace hanok::cri::websocket
