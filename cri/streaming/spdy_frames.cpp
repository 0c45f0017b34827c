#include "spdy_frames.hpp"

#include <errno.h>
#include <strings.h>
#include <unistd.h>

#include <system_error>

namespace hanok::cri::spdy {

namespace {

// SPDY/3's zlib dictionary (draft 3, section 2.6.10.1), as the clients prime their streams.
constexpr char kDictionary[] =
    "\x00\x00\x00\x07options\x00\x00\x00\x04head\x00\x00\x00\x04post\x00\x00\x00\x03pu"
    "t\x00\x00\x00\x06"
    "delete\x00\x00\x00\x05trace\x00\x00\x00\x06"
    "accept\x00\x00\x00"
    "\x0e"
    "accept-charset\x00\x00\x00\x0f"
    "accept-encoding\x00\x00\x00\x0f"
    "accept-lan"
    "guage\x00\x00\x00\x0d"
    "accept-ranges\x00\x00\x00\x03"
    "age\x00\x00\x00\x05"
    "allow\x00"
    "\x00\x00\x0d"
    "authorization\x00\x00\x00\x0d"
    "cache-control\x00\x00\x00\x0a"
    "conne"
    "ction\x00\x00\x00\x0c"
    "content-base\x00\x00\x00\x10"
    "content-encoding\x00\x00\x00"
    "\x10"
    "content-language\x00\x00\x00\x0e"
    "content-length\x00\x00\x00\x10"
    "content-l"
    "ocation\x00\x00\x00\x0b"
    "content-md5\x00\x00\x00\x0d"
    "content-range\x00\x00\x00\x0c"
    "content-type\x00\x00\x00\x04"
    "date\x00\x00\x00\x04"
    "etag\x00\x00\x00\x06"
    "expect\x00"
    "\x00\x00\x07"
    "expires\x00\x00\x00\x04"
    "from\x00\x00\x00\x04host\x00\x00\x00\x08if"
    "-match\x00\x00\x00\x11if-modified-since\x00\x00\x00\x0dif-none-match\x00\x00\x00\x08"
    "if-range\x00\x00\x00\x13if-unmodified-since\x00\x00\x00\x0dlast-modified\x00\x00\x00"
    "\x08location\x00\x00\x00\x0cmax-forwards\x00\x00\x00\x06pragma\x00\x00\x00\x12pro"
    "xy-authenticate\x00\x00\x00\x13proxy-authorization\x00\x00\x00\x05range\x00\x00\x00"
    "\x07referer\x00\x00\x00\x0bretry-after\x00\x00\x00\x06server\x00\x00\x00\x02te\x00"
    "\x00\x00\x07trailer\x00\x00\x00\x11transfer-encoding\x00\x00\x00\x07upgrade\x00\x00"
    "\x00\x0auser-agent\x00\x00\x00\x04vary\x00\x00\x00\x03via\x00\x00\x00\x07warning\x00"
    "\x00\x00\x10www-authenticate\x00\x00\x00\x06method\x00\x00\x00\x03get\x00\x00\x00"
    "\x06status\x00\x00\x00\x06"
    "200 OK\x00\x00\x00\x07version\x00\x00\x00\x08HTTP/1.1"
    "\x00\x00\x00\x03url\x00\x00\x00\x06public\x00\x00\x00\x0aset-cookie\x00\x00\x00\x0a"
    "keep-alive\x00\x00\x00\x06origin1001012012022052063003023033043053063074024054064"
    "07408409410411412413414415416417502504505203 Non-Authoritative Information204 No "
    "Content301 Moved Permanently400 Bad Request401 Unauthorized403 Forbidden404 Not F"
    "ound500 Internal Server Error501 Not Implemented503 Service UnavailableJan Feb Ma"
    "r Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun"
    ", GMTchunked,text/html,image/png,image/jpg,image/gif,application/xml,application/"
    "xhtml+xml,text/plain,text/javascript,publicprivatemax-age=gzip,deflate,sdchcharse"
    "t=utf-8charset=iso-8859-1,utf-,*,enq=0.";

constexpr size_t kMaxHeaderBytes = 64 * 1024;

void read_exactly(int fd, char* buffer, size_t size, bool& eof_at_start) {
  size_t done = 0;
  eof_at_start = false;
  while (done < size) {
    ssize_t n = ::read(fd, buffer + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::system_error(errno, std::generic_category(), "read a SPDY frame");
    if (n == 0) {
      if (done == 0) {
        eof_at_start = true;
        return;
      }
      throw ProtocolError("connection closed in the middle of a frame");
    }
    done += static_cast<size_t>(n);
  }
}

}  // namespace

std::string header_value(const Headers& headers, std::string_view name) {
  for (const auto& [key, value] : headers) {
    if (key.size() == name.size() && ::strncasecmp(key.data(), name.data(), name.size()) == 0) {
      return value.substr(0, value.find('\0'));
    }
  }
  return "";
}

uint32_t read_u32(std::string_view bytes, size_t offset) {
  if (offset + 4 > bytes.size()) throw ProtocolError("frame too short");
  auto byte = [&](size_t i) { return static_cast<uint32_t>(static_cast<uint8_t>(bytes[i])); };
  return byte(offset) << 24 | byte(offset + 1) << 16 | byte(offset + 2) << 8 | byte(offset + 3);
}

void put_u32(std::string& out, uint32_t value) {
  out.push_back(static_cast<char>(value >> 24));
  out.push_back(static_cast<char>(value >> 16));
  out.push_back(static_cast<char>(value >> 8));
  out.push_back(static_cast<char>(value));
}

bool read_frame(int fd, Frame& frame) {
  char header[8];
  bool eof = false;
  read_exactly(fd, header, sizeof header, eof);
  if (eof) return false;
  std::string_view head(header, sizeof header);
  uint32_t first = read_u32(head, 0);
  uint32_t second = read_u32(head, 4);
  frame.control = (first & 0x80000000U) != 0;
  frame.flags = static_cast<uint8_t>(second >> 24);
  size_t length = second & 0xFFFFFFU;
  if (frame.control) {
    uint16_t version = static_cast<uint16_t>((first >> 16) & 0x7FFFU);
    if (version != kVersion) throw ProtocolError("SPDY version " + std::to_string(version));
    frame.type = static_cast<uint16_t>(first & 0xFFFFU);
    frame.stream_id = 0;
  } else {
    frame.type = 0;
    frame.stream_id = first & 0x7FFFFFFFU;
  }
  if (length > kMaxPayload) throw ProtocolError("frame of " + std::to_string(length) + " bytes");
  frame.payload.resize(length);
  if (length > 0) {
    read_exactly(fd, frame.payload.data(), length, eof);
    if (eof) throw ProtocolError("connection closed in the middle of a frame");
  }
  return true;
}

std::string data_frame(uint32_t stream_id, uint8_t flags, std::string_view data) {
  std::string out;
  out.reserve(8 + data.size());
  put_u32(out, stream_id & 0x7FFFFFFFU);
  put_u32(out, static_cast<uint32_t>(flags) << 24 | static_cast<uint32_t>(data.size()));
  out.append(data);
  return out;
}

std::string control_frame(uint16_t type, uint8_t flags, std::string_view body) {
  std::string out;
  out.reserve(8 + body.size());
  put_u32(out, 0x80000000U | static_cast<uint32_t>(kVersion) << 16 | type);
  put_u32(out, static_cast<uint32_t>(flags) << 24 | static_cast<uint32_t>(body.size()));
  out.append(body);
  return out;
}

HeaderEncoder::HeaderEncoder() {
  if (deflateInit(&zlib_, Z_DEFAULT_COMPRESSION) != Z_OK) throw std::runtime_error("deflateInit");
  deflateSetDictionary(&zlib_, reinterpret_cast<const Bytef*>(kDictionary), sizeof kDictionary - 1);
}
HeaderEncoder::~HeaderEncoder() {
  deflateEnd(&zlib_);
}

std::string HeaderEncoder::encode(const Headers& headers) {
  std::string plain;
  put_u32(plain, static_cast<uint32_t>(headers.size()));
  for (const auto& [name, value] : headers) {
    put_u32(plain, static_cast<uint32_t>(name.size()));
    plain += name;
    put_u32(plain, static_cast<uint32_t>(value.size()));
    plain += value;
  }
  std::string out(deflateBound(&zlib_, plain.size()) + 64, '\0');
  zlib_.next_in = reinterpret_cast<Bytef*>(plain.data());
  zlib_.avail_in = static_cast<uInt>(plain.size());
  zlib_.next_out = reinterpret_cast<Bytef*>(out.data());
  zlib_.avail_out = static_cast<uInt>(out.size());
  if (deflate(&zlib_, Z_SYNC_FLUSH) != Z_OK || zlib_.avail_in != 0) {
    throw std::runtime_error("compress a SPDY header block");
  }
  out.resize(out.size() - zlib_.avail_out);
  return out;
}

HeaderDecoder::HeaderDecoder() {
  if (inflateInit(&zlib_) != Z_OK) throw std::runtime_error("inflateInit");
}
HeaderDecoder::~HeaderDecoder() {
  inflateEnd(&zlib_);
}

Headers HeaderDecoder::decode(std::string_view block) {
  std::string plain;
  zlib_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(block.data()));
  zlib_.avail_in = static_cast<uInt>(block.size());
  char buffer[4096];
  for (;;) {
    zlib_.next_out = reinterpret_cast<Bytef*>(buffer);
    zlib_.avail_out = sizeof buffer;
    int rc = inflate(&zlib_, Z_SYNC_FLUSH);
    if (rc == Z_NEED_DICT) {
      if (inflateSetDictionary(&zlib_, reinterpret_cast<const Bytef*>(kDictionary),
                               sizeof kDictionary - 1) != Z_OK) {
        throw ProtocolError("header block with another dictionary");
      }
      continue;
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR) throw ProtocolError("header block does not inflate");
    size_t produced = sizeof buffer - zlib_.avail_out;
    plain.append(buffer, produced);
    if (plain.size() > kMaxHeaderBytes) throw ProtocolError("header block over 64 KiB");
    if (zlib_.avail_out != 0) {
      if (zlib_.avail_in == 0) break;
      if (produced == 0 && rc == Z_BUF_ERROR) throw ProtocolError("header block is cut");
    }
  }
  Headers headers;
  size_t at = 0;
  uint32_t count = read_u32(plain, at);
  at += 4;
  if (count > 1024) throw ProtocolError("too many headers");
  for (uint32_t i = 0; i < count; ++i) {
    std::string fields[2];
    for (auto& field : fields) {
      uint32_t length = read_u32(plain, at);
      at += 4;
      if (length > plain.size() - at) throw ProtocolError("header longer than its block");
      field = plain.substr(at, length);
      at += length;
    }
    headers.emplace_back(std::move(fields[0]), std::move(fields[1]));
  }
  return headers;
}

}  // namespace hanok::cri::spdy
