// Private to cri/: what a streaming connection's reader thread received, per stream or channel,
// until a session thread reads it. Bounded: past 1 MiB unread on one, 4 MiB on all of a
// connection's, or 256 MiB on all of the daemon's connections together, the reader waits (and
// so the client, on TCP), so a fast sender cannot grow hanokd, however many streams or
// connections it opens and leaves unread. An inbox goes once its stream is finished and read, or
// no longer read; a stream id is never used twice.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace hanok::cri {

class StreamInboxes {
 public:
  StreamInboxes() = default;
  ~StreamInboxes();
  StreamInboxes(const StreamInboxes&) = delete;
  StreamInboxes& operator=(const StreamInboxes&) = delete;

  // A new stream or channel; false when `id` is not above every id opened before.
  bool open(uint32_t id, bool finished = false);
  // Data from the client (the reader's thread); `fin` ends the stream. Unknown or finished ids
  // are ignored.
  void push(uint32_t id, std::string_view data, bool fin);
  void finish(uint32_t id);
  // The next data on `id` (waits); "" once it is finished or everything is closed.
  std::string read(uint32_t id);
  // Ends `id` on this side: what is unread is dropped, read() returns "".
  void stop_reading(uint32_t id);
  // The connection ended: every read returns.
  void close_all();
  bool closed() const;

 private:
  struct Inbox {
    std::string data;
    bool finished = false;
  };
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  // Counts `bytes` as read (the caller holds the mutex).
  void release(size_t bytes);

  std::map<uint32_t, Inbox> inboxes_;
  size_t total_ = 0;  // unread bytes in all inboxes
  bool opened_any_ = false;
  uint32_t highest_ = 0;  // the last id opened
  bool closed_ = false;
};

}  // namespace hanok::cri
