// Private to cri/: the server side of one SPDY/3.1 connection of the streaming server. A reader
// thread takes the client's frames: each stream the client opens is answered (SYN_REPLY) and
// queued for next_stream(); its data waits in a bounded inbox for read(). Writes come from any
// thread, one frame at a time. The kubelet's streaming clients do no SPDY flow control, nor does
// this side.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "isolate/unique_fd.hpp"
#include "spdy_frames.hpp"
#include "stream_inboxes.hpp"
#include "stream_transport.hpp"

namespace hanok::cri::spdy {

struct Stream {
  uint32_t id = 0;
  Headers headers;
};

class Session final : public StreamTransport {
 public:
  explicit Session(isolate::UniqueFd socket);
  ~Session() override;  // ends the connection, joins the reader
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // The next stream the client opened; nullopt at `deadline` or once the connection ended.
  std::optional<Stream> next_stream(std::chrono::steady_clock::time_point deadline);
  // The next data the client sent on stream `id` (waits for it); "" once the client finished
  // the stream, reset it, or the connection ended.
  std::string read(uint32_t id) override;
  // Ends reads of stream `id` on this side: read() returns "" from now on.
  void stop_reading(uint32_t id) override;
  // Sends `data` on stream `id` (in frames of at most 32 KiB); false once the connection broke.
  bool write(uint32_t id, std::string_view data) override;
  // This side's end of stream `id` (an empty frame with FIN).
  void finish(uint32_t id) override;
  void reset(uint32_t id, uint32_t status = kRstCancel);
  // Whether the connection still works (the client has not closed it).
  bool alive() const override;
  // Ends the connection now: reads and waits return.
  void shut_down();
  // From now on streams the client opens are refused (RST_STREAM): a session that has all it
  // needs keeps no more.
  void refuse_new_streams();

 private:
  void read_loop();
  void mark_closed();
  void on_frame(const Frame& frame);
  bool send(const std::string& bytes);

  isolate::UniqueFd socket_;
  std::mutex write_mutex_;
  HeaderEncoder encoder_;
  HeaderDecoder decoder_;  // the reader thread's alone
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Stream> opened_;
  bool closed_ = false;
  bool refusing_ = false;
  StreamInboxes inboxes_;
  std::thread reader_;
};

}  // namespace hanok::cri::spdy
