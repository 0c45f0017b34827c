// Private to cri/: SPDY/3.1 framing as the kubelet's streaming clients speak it (the
// draft-mbelshe-httpbis-spdy-00 wire format, as moby/spdystream implements it): 8-byte frame
// headers, control frames (SYN_STREAM, SYN_REPLY, RST_STREAM, PING, GOAWAY, ...) and data
// frames, with name/value header blocks compressed by one zlib stream per direction, primed
// with SPDY/3's dictionary.
#pragma once

#include <zlib.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hanok::cri::spdy {

constexpr uint16_t kVersion = 3;
enum ControlType : uint16_t {
  kSynStream = 1,
  kSynReply = 2,
  kRstStream = 3,
  kSettings = 4,
  kPing = 6,
  kGoAway = 7,
  kHeaders = 8,
  kWindowUpdate = 9,
};
constexpr uint8_t kFlagFin = 0x01;
constexpr uint32_t kRstCancel = 5;
constexpr uint32_t kRstProtocolError = 1;
// The largest frame payload hanokd accepts (the format allows 16 MiB).
constexpr size_t kMaxPayload = 1 << 20;

// A peer that broke the protocol: the connection ends.
class ProtocolError : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Header names as sent on the wire (lower case); a value may hold several, NUL-separated.
using Headers = std::vector<std::pair<std::string, std::string>>;
// The first value of `name` (case-insensitive), "" when absent.
std::string header_value(const Headers& headers, std::string_view name);

struct Frame {
  bool control = false;
  uint16_t type = 0;  // control frames
  uint8_t flags = 0;
  uint32_t stream_id = 0;  // data frames (control frames carry theirs in the payload)
  std::string payload;
};

// Reads one frame from a blocking fd. Returns false at a clean EOF before a frame; throws
// ProtocolError for a cut or oversized frame, std::system_error for a read error.
bool read_frame(int fd, Frame& frame);

std::string data_frame(uint32_t stream_id, uint8_t flags, std::string_view data);
std::string control_frame(uint16_t type, uint8_t flags, std::string_view body);
uint32_t read_u32(std::string_view bytes, size_t offset);  // big-endian; throws when short
void put_u32(std::string& out, uint32_t value);

// One direction's header block compressor (its zlib stream lives as long as the connection).
class HeaderEncoder {
 public:
  HeaderEncoder();
  ~HeaderEncoder();
  HeaderEncoder(const HeaderEncoder&) = delete;
  HeaderEncoder& operator=(const HeaderEncoder&) = delete;
  std::string encode(const Headers& headers);

 private:
  z_stream zlib_{};
};

class HeaderDecoder {
 public:
  HeaderDecoder();
  ~HeaderDecoder();
  HeaderDecoder(const HeaderDecoder&) = delete;
  HeaderDecoder& operator=(const HeaderDecoder&) = delete;
  // Throws ProtocolError for a block that does not inflate or parse, or holds over 64 KiB.
  Headers decode(std::string_view block);

 private:
  z_stream zlib_{};
};

}  // namespace hanok::cri::spdy
