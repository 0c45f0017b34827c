#include "spdy_session.hpp"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <cerrno>

namespace hanok::cri::spdy {

namespace {
constexpr size_t kChunk = 32 * 1024;
// Streams opened but not yet taken by the session: more are refused.
constexpr size_t kMaxQueued = 64;
constexpr uint32_t kRstRefused = 3;

uint32_t stream_id_at(std::string_view payload, size_t offset) {
  return read_u32(payload, offset) & 0x7FFFFFFFU;
}
}  // namespace

Session::Session(isolate::UniqueFd socket) : socket_(std::move(socket)) {
  reader_ = std::thread([this] { read_loop(); });
}

Session::~Session() {
  shut_down();
  reader_.join();
}

void Session::shut_down() {
  ::shutdown(socket_.get(), SHUT_RDWR);
  mark_closed();
}

void Session::refuse_new_streams() {
  std::lock_guard lock(mutex_);
  refusing_ = true;
}

void Session::mark_closed() {
  std::lock_guard lock(mutex_);
  closed_ = true;
  inboxes_.close_all();
  changed_.notify_all();
}

bool Session::alive() const {
  std::lock_guard lock(mutex_);
  return !closed_;
}

void Session::read_loop() {
  try {
    Frame frame;
    while (read_frame(socket_.get(), frame)) {
      on_frame(frame);
      std::lock_guard lock(mutex_);
      if (closed_) break;
    }
  } catch (const std::exception& e) {
    spdlog::debug("streaming connection: {}", e.what());
  }
  mark_closed();
}

void Session::on_frame(const Frame& frame) {
  if (!frame.control) {
    inboxes_.push(frame.stream_id, frame.payload, (frame.flags & kFlagFin) != 0);
    return;
  }
  switch (frame.type) {
    case kSynStream: {
      Stream stream;
      stream.id = stream_id_at(frame.payload, 0);
      // After the ids: priority (3 bits) and slot (8 bits), then the header block.
      if (frame.payload.size() < 10) throw ProtocolError("SYN_STREAM too short");
      stream.headers = decoder_.decode(std::string_view(frame.payload).substr(10));
      {
        std::lock_guard lock(mutex_);
        if (refusing_ || opened_.size() >= kMaxQueued) {
          std::string body;
          put_u32(body, stream.id);
          put_u32(body, kRstRefused);
          send(control_frame(kRstStream, 0, body));
          break;
        }
      }
      if (!inboxes_.open(stream.id, (frame.flags & kFlagFin) != 0)) {
        throw ProtocolError("a stream id that is not above the last one");
      }
      std::string body;
      put_u32(body, stream.id);
      {
        std::lock_guard lock(write_mutex_);
        body += encoder_.encode({});
      }
      send(control_frame(kSynReply, 0, body));
      std::lock_guard lock(mutex_);
      opened_.push_back(std::move(stream));
      changed_.notify_all();
      break;
    }
    case kSynReply:
    case kHeaders:
      // Decoded all the same: the zlib stream of the client's header blocks must stay in step.
      if (frame.payload.size() < 4) throw ProtocolError("header frame too short");
      (void)decoder_.decode(std::string_view(frame.payload).substr(4));
      break;
    case kRstStream:
      inboxes_.finish(stream_id_at(frame.payload, 0));
      break;
    case kPing:
      send(control_frame(kPing, 0, frame.payload));
      break;
    case kGoAway:
      mark_closed();
      break;
    default:  // SETTINGS, WINDOW_UPDATE, ...: nothing this side needs
      break;
  }
}

std::optional<Stream> Session::next_stream(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mutex_);
  if (!changed_.wait_until(lock, deadline, [&] { return closed_ || !opened_.empty(); }) ||
      opened_.empty()) {
    return std::nullopt;
  }
  Stream stream = std::move(opened_.front());
  opened_.pop_front();
  return stream;
}

std::string Session::read(uint32_t id) {
  return inboxes_.read(id);
}

void Session::stop_reading(uint32_t id) {
  inboxes_.stop_reading(id);
}

bool Session::send(const std::string& bytes) {
  std::lock_guard lock(write_mutex_);
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::send(socket_.get(), bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::shutdown(socket_.get(), SHUT_RDWR);
      mark_closed();  // the reader may be parked on a full inbox: wake every reader
      return false;
    }
    done += static_cast<size_t>(n);
  }
  return true;
}

bool Session::write(uint32_t id, std::string_view data) {
  while (!data.empty()) {
    std::string_view chunk = data.substr(0, kChunk);
    if (!send(data_frame(id, 0, chunk))) return false;
    data.remove_prefix(chunk.size());
  }
  return true;
}

void Session::finish(uint32_t id) {
  send(data_frame(id, kFlagFin, {}));
}

void Session::reset(uint32_t id, uint32_t status) {
  inboxes_.stop_reading(id);
  std::string body;
  put_u32(body, id);
  put_u32(body, status);
  send(control_frame(kRstStream, 0, body));
}

}  // namespace hanok::cri::spdy
