#include "port_forward.hpp"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <vector>

#include "isolate/text.hpp"
#include "stream_io.hpp"

namespace hanok::cri {

namespace {

using isolate::UniqueFd;

// The two streams of one forwarded connection (over SPDY, those of one requestID).
struct StreamPair {
  std::optional<uint32_t> error, data;
  std::string port;
  std::chrono::steady_clock::time_point opened;  // its first stream
};

// The kubelet's stream creation timeout: a pair not complete this long after its first stream
// is given up.
constexpr std::chrono::seconds kStreamCreationTimeout{30};

}  // namespace

class PortForwarder::Impl {
 public:
  Impl(StreamTransport& transport, std::string target, PortConnector connect)
      : session_(transport), target_(std::move(target)), connect_(std::move(connect)) {}
  ~Impl() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
      for (int fd : sockets_) ::shutdown(fd, SHUT_RDWR);
    }
    for (auto& worker : workers_) worker.thread.join();
  }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  // SPDY: a pair of streams per connection, opened by the client as it needs them.
  void run_spdy(spdy::Session& spdy_session) {
    std::map<std::string, StreamPair> pairs;
    while (spdy_session.alive()) {
      reap();
      expire(spdy_session, pairs);
      auto stream =
          spdy_session.next_stream(std::chrono::steady_clock::now() + std::chrono::seconds(1));
      if (!stream) continue;
      std::string type = spdy::header_value(stream->headers, "streamtype");
      std::string request = spdy::header_value(stream->headers, "requestid");
      if (pairs.size() >= kMaxPending && pairs.count(request) == 0) {
        spdy_session.reset(stream->id, spdy::kRstProtocolError);
        continue;
      }
      auto [found, made] = pairs.try_emplace(request);
      StreamPair& pair = found->second;
      if (made) pair.opened = std::chrono::steady_clock::now();
      if (type == "error" && !pair.error) {
        pair.error = stream->id;
      } else if (type == "data" && !pair.data) {
        pair.data = stream->id;
      } else {
        spdy_session.reset(stream->id, spdy::kRstProtocolError);
        continue;
      }
      std::string port = spdy::header_value(stream->headers, "port");
      if (!port.empty()) pair.port = port;
      if (pair.error && pair.data) {
        StreamPair ready = pair;
        pairs.erase(request);
        if (workers_.size() >= kMaxForwards) {
          refuse(ready, "too many connections forwarded at once");
          continue;
        }
        start(ready);
      }
    }
  }

  // WebSocket: one connection per port of the URL, on channels 2i (data) and 2i+1 (error), each
  // starting with the port as two bytes, little endian. The session ends when they all ended
  // (closing the connection is how the client learns it) or the client left.
  void run_websocket(const std::vector<uint16_t>& ports) {
    for (size_t i = 0; i < ports.size(); ++i) {
      StreamPair pair;
      pair.data = static_cast<uint32_t>(2 * i);
      pair.error = static_cast<uint32_t>(2 * i + 1);
      pair.port = std::to_string(ports[i]);
      const char prefix[2] = {static_cast<char>(ports[i] & 0xFF), static_cast<char>(ports[i] >> 8)};
      session_.write(*pair.data, std::string_view(prefix, 2));
      session_.write(*pair.error, std::string_view(prefix, 2));
      start(pair);
    }
    while (session_.alive()) {
      reap();
      if (workers_.empty()) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

 private:
  // Pairs whose other stream did not come within the stream creation timeout: their error
  // stream says so (as the kubelet's), and both are reset, what they buffered dropped.
  void expire(spdy::Session& spdy_session, std::map<std::string, StreamPair>& pairs) {
    auto now = std::chrono::steady_clock::now();
    std::erase_if(pairs, [&](auto& item) {
      const auto& [request, pair] = item;
      if (now - pair.opened < kStreamCreationTimeout) return false;
      if (pair.error) {
        session_.write(*pair.error, "request " + request + ": timed out waiting for streams");
        spdy_session.reset(*pair.error);
      }
      if (pair.data) spdy_session.reset(*pair.data);
      return true;
    });
  }

  static constexpr size_t kMaxForwards = 128;
  static constexpr size_t kMaxPending = 256;

  struct Worker {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };

  void refuse(const StreamPair& pair, const std::string& why) {
    session_.write(*pair.error,
                   "error forwarding port " + pair.port + " to " + target_ + ": " + why);
    session_.finish(*pair.error);
    session_.finish(*pair.data);
    session_.stop_reading(*pair.data);
    session_.stop_reading(*pair.error);
  }

  void start(const StreamPair& pair) {
    auto done = std::make_shared<std::atomic<bool>>(false);
    try {
      workers_.push_back({std::thread([this, pair, done] {
                            forward(pair);
                            *done = true;
                          }),
                          done});
    } catch (const std::system_error& e) {
      refuse(pair, e.what());
    }
  }

  // Joins the forwards that ended (a long session forwards many connections).
  void reap() {
    std::erase_if(workers_, [](Worker& worker) {
      if (!*worker.done) return false;
      worker.thread.join();
      return true;
    });
  }

  void forward(const StreamPair& pair) {
    auto port = isolate::parse_u64(pair.port);
    UniqueFd socket;
    try {
      if (!port || *port == 0 || *port > 65535) {
        throw std::runtime_error("invalid port \"" + pair.port + "\"");
      }
      socket = connect_(static_cast<uint16_t>(*port));
    } catch (const std::exception& e) {
      spdlog::info("error forwarding port {} to {}: {}", pair.port, target_, e.what());
      refuse(pair, e.what());
      return;
    }
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      sockets_.insert(socket.get());
    }
    std::atomic<bool> stop{false};
    std::thread to_pod;
    try {
      to_pod = std::thread([&] {
        for (;;) {
          std::string data = session_.read(*pair.data);
          if (data.empty()) break;
          if (!write_fully(socket.get(), data, stop)) break;
        }
        session_.stop_reading(*pair.data);
        ::shutdown(socket.get(), SHUT_WR);  // the client is done sending
      });
    } catch (const std::system_error& e) {
      refuse(pair, e.what());
      std::lock_guard lock(mutex_);
      sockets_.erase(socket.get());
      return;
    }
    char buffer[32 * 1024];
    for (;;) {
      ssize_t n = ::recv(socket.get(), buffer, sizeof buffer, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      if (!session_.write(*pair.data, std::string_view(buffer, static_cast<size_t>(n)))) break;
    }
    session_.finish(*pair.data);
    stop = true;
    session_.stop_reading(*pair.data);
    to_pod.join();
    session_.finish(*pair.error);
    session_.stop_reading(*pair.error);
    std::lock_guard lock(mutex_);
    sockets_.erase(socket.get());
  }

  StreamTransport& session_;
  std::string target_;
  PortConnector connect_;
  std::mutex mutex_;
  std::set<int> sockets_;
  bool stopping_ = false;
  std::vector<Worker> workers_;
};

PortForwarder::PortForwarder(StreamTransport& transport, std::string target, PortConnector connect)
    : impl_(std::make_unique<Impl>(transport, std::move(target), std::move(connect))) {}

PortForwarder::~PortForwarder() = default;

void PortForwarder::run_spdy(spdy::Session& session) {
  impl_->run_spdy(session);
}

void PortForwarder::run_websocket(const std::vector<uint16_t>& ports) {
  impl_->run_websocket(ports);
}

}  // namespace hanok::cri
