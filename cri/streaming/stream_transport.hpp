// Private to cri/: what exec and attach sessions need of an upgraded connection, whatever its
// protocol (SPDY streams, or WebSocket channels): read what the client sent on one stream or
// channel, write to one, end one, and whether the connection still works.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace hanok::cri {

class StreamTransport {
 public:
  virtual ~StreamTransport() = default;
  // The next data the client sent on `id` (waits for it); "" once it ended it, or the
  // connection ended, or stop_reading(id) was called.
  virtual std::string read(uint32_t id) = 0;
  virtual void stop_reading(uint32_t id) = 0;
  // Sends `data` on `id`; false once the connection broke.
  virtual bool write(uint32_t id, std::string_view data) = 0;
  // This side is done writing on `id`.
  virtual void finish(uint32_t id) = 0;
  virtual bool alive() const = 0;
};

}  // namespace hanok::cri
