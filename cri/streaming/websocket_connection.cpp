#include "websocket_connection.hpp"

#include <openssl/evp.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <vector>

namespace hanok::cri::websocket {

namespace {

constexpr const char* kAcceptGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
constexpr size_t kMaxMessage = 1 << 20;
constexpr size_t kChunk = 32 * 1024;
constexpr uint8_t kContinuation = 0x0, kText = 0x1, kBinary = 0x2, kClose = 0x8, kPing = 0x9,
                  kPong = 0xA;
constexpr uint32_t kCloseSignalChannel = 255;

class ProtocolError : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string base64_encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) throw ProtocolError("base64 text of a length not a multiple of 4");
  std::string out(3 * text.size() / 4 + 1, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0) throw ProtocolError("not base64");
  size_t padding = 0;
  while (padding < 2 && padding < text.size() && text[text.size() - 1 - padding] == '=') ++padding;
  out.resize(static_cast<size_t>(n) - padding);
  return out;
}

void read_exactly(int fd, char* buffer, size_t size) {
  size_t done = 0;
  while (done < size) {
    ssize_t n = ::read(fd, buffer + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw std::runtime_error("connection ended");
    done += static_cast<size_t>(n);
  }
}

}  // namespace

std::string accept_key(const std::string& key) {
  std::string input = key + kAcceptGuid;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(input.data(), input.size(), digest, &length, EVP_sha1(), nullptr) != 1) {
    throw std::runtime_error("SHA-1 of the WebSocket key");
  }
  return base64_encode(std::string_view(reinterpret_cast<char*>(digest), length));
}

Connection::Connection(isolate::UniqueFd socket, bool base64, bool close_signal, uint32_t channels)
    : socket_(std::move(socket)), base64_(base64), close_signal_(close_signal) {
  for (uint32_t channel = 0; channel < channels; ++channel) inboxes_.open(channel);
  reader_ = std::thread([this] { read_loop(); });
}

Connection::~Connection() {
  ::shutdown(socket_.get(), SHUT_RDWR);
  inboxes_.close_all();
  reader_.join();
}

void Connection::read_loop() {
  try {
    std::string message;
    bool in_message = false;
    for (;;) {
      char head[2];
      read_exactly(socket_.get(), head, 2);
      bool fin = (head[0] & 0x80) != 0;
      uint8_t opcode = head[0] & 0x0F;
      if ((head[0] & 0x70) != 0) throw ProtocolError("reserved bits set");
      if ((head[1] & 0x80) == 0) throw ProtocolError("a client frame without a mask");
      uint64_t length = static_cast<uint8_t>(head[1]) & 0x7F;
      if (length == 126 || length == 127) {
        char extended[8];
        size_t size = length == 126 ? 2 : 8;
        read_exactly(socket_.get(), extended, size);
        length = 0;
        for (size_t i = 0; i < size; ++i) length = length << 8 | static_cast<uint8_t>(extended[i]);
      }
      bool control = (opcode & 0x8) != 0;
      if (control && (length > 125 || !fin)) throw ProtocolError("bad control frame");
      if (length > kMaxMessage || message.size() + length > kMaxMessage) {
        throw ProtocolError("message over 1 MiB");
      }
      char mask[4];
      read_exactly(socket_.get(), mask, 4);
      std::string payload(length, '\0');
      if (length > 0) read_exactly(socket_.get(), payload.data(), length);
      for (size_t i = 0; i < payload.size(); ++i) payload[i] ^= mask[i % 4];
      if (opcode == kPing) {
        send_frame(kPong, payload);
        continue;
      }
      if (opcode == kPong) continue;
      if (opcode == kClose) {
        close(1000);
        break;
      }
      if (opcode == kContinuation) {
        if (!in_message) throw ProtocolError("a continuation without a message");
      } else if (opcode == kText || opcode == kBinary) {
        if (in_message) throw ProtocolError("a new message inside another");
        message.clear();
        in_message = true;
      } else {
        throw ProtocolError("unknown opcode");
      }
      message += payload;
      if (fin) {
        in_message = false;
        on_message(std::move(message));
        message.clear();
      }
    }
  } catch (const ProtocolError& e) {
    spdlog::debug("websocket connection: {}", e.what());
    close(1002);
  } catch (const std::exception& e) {
    spdlog::debug("websocket connection: {}", e.what());
  }
  inboxes_.close_all();
}

void Connection::on_message(std::string message) {
  if (message.empty()) return;
  uint32_t channel = static_cast<uint8_t>(message[0]);
  std::string data;
  if (base64_) {
    if (channel < '0' || channel > '9') throw ProtocolError("base64 message without a channel");
    channel -= '0';
    data = base64_decode(std::string_view(message).substr(1));
  } else {
    data = message.substr(1);
  }
  if (close_signal_ && channel == kCloseSignalChannel) {
    if (data.size() != 1) throw ProtocolError("a close signal names one channel");
    inboxes_.finish(static_cast<uint8_t>(data[0]));
    return;
  }
  if (!data.empty()) inboxes_.push(channel, data, false);
}

std::string Connection::read(uint32_t channel) {
  return inboxes_.read(channel);
}

void Connection::stop_reading(uint32_t channel) {
  inboxes_.stop_reading(channel);
}

bool Connection::alive() const {
  return !inboxes_.closed();
}

bool Connection::send_frame(uint8_t opcode, std::string_view payload) {
  std::string frame;
  frame.push_back(static_cast<char>(0x80 | opcode));
  if (payload.size() < 126) {
    frame.push_back(static_cast<char>(payload.size()));
  } else if (payload.size() <= 0xFFFF) {
    frame.push_back(126);
    frame.push_back(static_cast<char>(payload.size() >> 8));
    frame.push_back(static_cast<char>(payload.size()));
  } else {
    frame.push_back(127);
    for (int shift = 56; shift >= 0; shift -= 8) {
      frame.push_back(static_cast<char>(static_cast<uint64_t>(payload.size()) >> shift));
    }
  }
  frame.append(payload);
  std::lock_guard lock(write_mutex_);
  if (close_sent_) return false;
  if (opcode == kClose) close_sent_ = true;
  size_t done = 0;
  while (done < frame.size()) {
    ssize_t n = ::send(socket_.get(), frame.data() + done, frame.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::shutdown(socket_.get(), SHUT_RDWR);
      inboxes_.close_all();
      return false;
    }
    done += static_cast<size_t>(n);
  }
  return true;
}

bool Connection::write(uint32_t channel, std::string_view data) {
  do {
    std::string_view chunk = data.substr(0, kChunk);
    std::string message;
    message.push_back(static_cast<char>(base64_ ? '0' + channel : channel));
    if (base64_) {
      message += base64_encode(chunk);
    } else {
      message.append(chunk);
    }
    if (!send_frame(base64_ ? kText : kBinary, message)) return false;
    data.remove_prefix(chunk.size());
  } while (!data.empty());
  return true;
}

void Connection::finish(uint32_t /*channel*/) {}

void Connection::close(uint16_t code) {
  std::string payload;
  payload.push_back(static_cast<char>(code >> 8));
  payload.push_back(static_cast<char>(code));
  send_frame(kClose, payload);
  ::shutdown(socket_.get(), SHUT_WR);
}

}  // namespace hanok::cri::websocket
