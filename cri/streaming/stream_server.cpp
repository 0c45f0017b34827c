#include "stream_server.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <fcntl.h>
#include <algorithm>

#include <cerrno>
#include <stdexcept>
#include <system_error>

#include "isolate/error.hpp"
#include "isolate/random.hpp"
#include "isolate/text.hpp"
#include "remote_command.hpp"
#include "stream_http.hpp"
#include "websocket_connection.hpp"

namespace hanok::cri {

namespace {

constexpr auto kTokenLifetime = std::chrono::minutes(1);
constexpr size_t kMaxPending = 4096;
constexpr size_t kMaxConnections = 512;
constexpr auto kHeadTimeout = std::chrono::seconds(10);
constexpr auto kStreamCreationTimeout = std::chrono::seconds(30);
const char* const kPortForwardProtocol = "portforward.k8s.io";

const char* kind_path(StreamTarget::Kind kind) {
  switch (kind) {
    case StreamTarget::Kind::Exec:
      return "exec";
    case StreamTarget::Kind::Attach:
      return "attach";
    case StreamTarget::Kind::PortForward:
      return "portforward";
  }
  return "";
}

// "host:port" or "[v6]:port" -> a bound, listening TCP socket; the URL base it is reached at.
isolate::UniqueFd listen_tcp(const std::string& address, std::string& base_url) {
  size_t colon = address.rfind(':');
  if (colon == std::string::npos) {
    throw std::invalid_argument("streaming_address \"" + address + "\": HOST:PORT please");
  }
  std::string host = address.substr(0, colon);
  std::string port = address.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  int rc = ::getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(), &hints, &found);
  if (rc != 0) {
    throw std::invalid_argument("streaming_address \"" + address + "\": " + ::gai_strerror(rc));
  }
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> guard(found, ::freeaddrinfo);
  isolate::UniqueFd socket(::socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!socket) isolate::throw_sys("socket for the streaming server", address);
  int one = 1;
  ::setsockopt(socket.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(socket.get(), found->ai_addr, found->ai_addrlen) != 0) {
    isolate::throw_sys("bind the streaming server to", address);
  }
  if (::listen(socket.get(), 128) != 0) isolate::throw_sys("listen on", address);
  sockaddr_storage bound{};
  socklen_t length = sizeof bound;
  ::getsockname(socket.get(), reinterpret_cast<sockaddr*>(&bound), &length);
  char text[INET6_ADDRSTRLEN] = {};
  int bound_port = 0;
  bool v6 = bound.ss_family == AF_INET6;
  if (v6) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&bound);
    ::inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
    bound_port = ntohs(in6->sin6_port);
  } else {
    auto* in4 = reinterpret_cast<sockaddr_in*>(&bound);
    ::inet_ntop(AF_INET, &in4->sin_addr, text, sizeof text);
    bound_port = ntohs(in4->sin_port);
  }
  std::string url_host = text;
  // A wildcard address is reached on this node at its loopback (the kubelet is local).
  if (url_host == "0.0.0.0") url_host = "127.0.0.1";
  if (url_host == "::") url_host = "::1";
  if (v6) url_host = "[" + url_host + "]";
  base_url = "http://" + url_host + ":" + std::to_string(bound_port);
  return socket;
}

// The protocol both sides speak: the client's first that the server serves ("" when the client
// offered none, which old clients do).
std::optional<std::string> negotiate(const HttpRequest& request,
                                     const std::vector<std::string>& served) {
  auto offered = request.values("X-Stream-Protocol-Version");
  if (offered.empty()) return std::string();
  for (const auto& protocol : offered) {
    if (std::find(served.begin(), served.end(), protocol) != served.end()) return protocol;
  }
  return std::nullopt;
}

StreamOptions options_of(const StreamTarget& target) {
  if (target.kind == StreamTarget::Kind::Exec) {
    return {target.exec.stdin(), target.exec.stdout(), target.exec.stderr(), target.exec.tty()};
  }
  return {target.attach.stdin(), target.attach.stdout(), target.attach.stderr(),
          target.attach.tty()};
}

std::string target_name(const StreamTarget& target) {
  return target.kind == StreamTarget::Kind::Exec ? "exec in " + target.exec.container_id()
                                                 : "attach to " + target.attach.container_id();
}

}  // namespace

StreamingServer::StreamingServer(StreamHandler& handler, const std::string& address,
                                 const std::string& tls_cert, const std::string& tls_key)
    : handler_(handler) {
  if (!tls_cert.empty()) tls_ = std::make_unique<TlsContext>(tls_cert, tls_key);
  listener_ = listen_tcp(address, base_url_);
  if (tls_) base_url_.replace(0, 4, "https");
  acceptor_ = std::thread([this] { accept_loop(); });
  spdlog::info("streaming server on {}", base_url_);
}

StreamingServer::~StreamingServer() {
  stopping_ = true;
  ::shutdown(listener_.get(), SHUT_RDWR);
  acceptor_.join();
  // Every session sees its connection end and returns (exec'd processes are killed): their
  // threads use this object and the handler, so wait for all of them.
  std::unique_lock lock(mutex_);
  while (active_ > 0) {
    for (int fd : connections_) ::shutdown(fd, SHUT_RDWR);
    if (!drained_.wait_for(lock, std::chrono::seconds(10), [&] { return active_ == 0; })) {
      spdlog::warn("streaming server: waiting for {} sessions to end", active_);
    }
  }
}

std::string StreamingServer::url_for(StreamTarget target) {
  std::string token = isolate::random_hex(32);  // 256 random bits
  auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex_);
  std::erase_if(pending_, [&](const auto& entry) { return entry.second.expires <= now; });
  if (pending_.size() >= kMaxPending) {
    throw isolate::Error(isolate::ErrorKind::Internal,
                         "too many streaming requests waiting for their client");
  }
  const char* path = kind_path(target.kind);
  pending_[token] = Pending{std::move(target), now + kTokenLifetime};
  return base_url_ + "/" + path + "/" + token;
}

std::optional<StreamTarget> StreamingServer::find(StreamTarget::Kind kind, const std::string& token,
                                                  bool take) {
  std::lock_guard lock(mutex_);
  auto it = pending_.find(token);
  if (it == pending_.end() || it->second.target.kind != kind) return std::nullopt;
  if (it->second.expires <= std::chrono::steady_clock::now()) {
    pending_.erase(it);
    return std::nullopt;
  }
  StreamTarget target = it->second.target;
  if (take) pending_.erase(it);
  return target;
}

void StreamingServer::accept_loop() {
  while (!stopping_) {
    isolate::UniqueFd connection(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!connection) {
      if (stopping_) return;
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        continue;
      }
      spdlog::error("streaming server: accept: {}", isolate::errno_text(errno));
      return;
    }
    std::unique_lock lock(mutex_);
    if (active_ >= kMaxConnections) {
      lock.unlock();
      write_http_error(connection.get(), 503, "Service Unavailable", "too many sessions");
      continue;
    }
    // The session works on a duplicate; the original stays open until the connection is out of
    // `connections_`, so its number is never another connection's while listed there.
    isolate::UniqueFd session_fd(::fcntl(connection.get(), F_DUPFD_CLOEXEC, 0));
    if (!session_fd) {
      lock.unlock();
      write_http_error(connection.get(), 503, "Service Unavailable", "out of file descriptors");
      continue;
    }
    int raw = connection.get();
    ++active_;
    connections_.insert(raw);
    lock.unlock();
    auto finished = [this, raw] {
      std::lock_guard done(mutex_);
      connections_.erase(raw);
      --active_;
      drained_.notify_all();
    };
    try {
      std::thread([this, finished, kept = std::move(connection),
                   fd = std::move(session_fd)]() mutable {
        try {
          serve_connection(std::move(fd));
        } catch (const std::exception& e) {
          spdlog::warn("streaming session: {}", e.what());
        }
        finished();
      }).detach();
    } catch (const std::system_error& e) {
      spdlog::error("streaming server: no thread for a session: {}", e.what());
      finished();  // the connection closes with `connection`, moved into the failed lambda
    }
  }
}

void StreamingServer::serve_connection(isolate::UniqueFd connection) {
  int fd = connection.get();
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  // A client that stops reading stalls only its own session, and not for ever.
  timeval send_timeout{60, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof send_timeout);
  if (tls_) {
    try {
      connection = tls_->terminate(std::move(connection));
    } catch (const std::exception& e) {
      spdlog::debug("streaming connection: {}", e.what());
      return;
    }
    fd = connection.get();
  }
  auto request = read_http_request(fd, kHeadTimeout);
  if (!request) {
    write_http_error(fd, 400, "Bad Request", "not an HTTP request");
    return;
  }
  auto parts = isolate::split(request->path, "/");
  std::optional<StreamTarget::Kind> kind;
  if (parts.size() == 2 && parts[0] == "exec") kind = StreamTarget::Kind::Exec;
  if (parts.size() == 2 && parts[0] == "attach") kind = StreamTarget::Kind::Attach;
  if (parts.size() == 2 && parts[0] == "portforward") kind = StreamTarget::Kind::PortForward;
  if (!kind || (request->method != "GET" && request->method != "POST")) {
    write_http_error(fd, 404, "Not Found", "404 page not found");
    return;
  }
  std::string token(parts[1]);
  if (!find(*kind, token, false)) {
    write_http_error(fd, 404, "Not Found", "unknown or expired streaming token");
    return;
  }
  if (request->has_token("Upgrade", "websocket")) {
    serve_websocket(std::move(connection), *request, *kind, token);
    return;
  }
  if (!request->has_token("Connection", "upgrade") || !request->has_token("Upgrade", "SPDY/3.1")) {
    write_http_error(fd, 400, "Bad Request", "unable to upgrade: missing upgrade headers");
    return;
  }
  const std::vector<std::string> port_forward = {kPortForwardProtocol};
  const auto& served =
      *kind == StreamTarget::Kind::PortForward ? port_forward : remote_command_protocols();
  auto protocol = negotiate(*request, served);
  if (!protocol) {
    std::vector<std::string> accepted;
    for (const auto& name : served)
      accepted.push_back("X-Accepted-Stream-Protocol-Versions: " + name);
    write_http_error(fd, 403, "Forbidden",
                     "unable to upgrade: unable to negotiate protocol: the server accepts " +
                         served.front() + " and older",
                     accepted);
    return;
  }
  auto target = find(*kind, token, true);  // single use: taken now, or by a racing client
  if (!target) {
    write_http_error(fd, 404, "Not Found", "unknown or expired streaming token");
    return;
  }
  std::vector<std::string> headers = {"Connection: Upgrade", "Upgrade: SPDY/3.1"};
  if (!protocol->empty()) headers.push_back("X-Stream-Protocol-Version: " + *protocol);
  if (!write_http_head(fd, "HTTP/1.1 101 Switching Protocols", headers)) return;

  spdy::Session session(std::move(connection));
  if (*kind == StreamTarget::Kind::PortForward) {
    handler_.port_forward(session, target->port_forward);
    return;
  }
  StreamOptions options = options_of(*target);
  CommandStreams streams;
  try {
    streams = await_command_streams(session, channel_protocol(*protocol), options,
                                    kStreamCreationTimeout);
  } catch (const std::exception& e) {
    spdlog::warn("streaming session for {}: {}", target_name(*target), e.what());
    return;
  }
  serve_command(*target, session, streams);
}

void StreamingServer::serve_command(const StreamTarget& target, StreamTransport& transport,
                                    const CommandStreams& streams) {
  if (target.kind == StreamTarget::Kind::Exec) {
    handler_.exec(transport, streams, target.exec);
  } else {
    handler_.attach(transport, streams, target.attach);
  }
}

void StreamingServer::serve_websocket(isolate::UniqueFd connection, const HttpRequest& request,
                                      StreamTarget::Kind kind, const std::string& token) {
  int fd = connection.get();
  auto keys = request.values("Sec-WebSocket-Key");
  if (keys.size() != 1 || !request.has_token("Connection", "upgrade")) {
    write_http_error(fd, 400, "Bad Request", "not a WebSocket handshake");
    return;
  }
  if (!request.has_token("Sec-WebSocket-Version", "13")) {
    write_http_error(fd, 426, "Upgrade Required", "WebSocket version 13 please",
                     {"Sec-WebSocket-Version: 13"});
    return;
  }
  // The client's first protocol that is served; none offered: binary channels, as before v4.
  static const std::vector<std::string> command_protocols = {
      "v5.channel.k8s.io", "v4.channel.k8s.io", "v4.base64.channel.k8s.io", "channel.k8s.io",
      "base64.channel.k8s.io"};
  static const std::vector<std::string> forward_protocols = {"v4.channel.k8s.io",
                                                             "v4.base64.channel.k8s.io"};
  bool forwarding = kind == StreamTarget::Kind::PortForward;
  const auto& served = forwarding ? forward_protocols : command_protocols;
  // Port forwarding: the ports are the URL's (?port=80&port=8080), else the call's.
  std::vector<uint16_t> ports;
  if (forwarding) {
    for (std::string_view pair : isolate::split(request.query, "&")) {
      if (!pair.starts_with("port=")) continue;
      auto port = isolate::parse_u64(pair.substr(5));
      if (!port || *port == 0 || *port > 65535) {
        write_http_error(fd, 400, "Bad Request", "not a port: " + std::string(pair.substr(5)));
        return;
      }
      ports.push_back(static_cast<uint16_t>(*port));
    }
  }
  auto offered = request.values("Sec-WebSocket-Protocol");
  std::string protocol;
  if (!offered.empty()) {
    auto match = std::find_first_of(offered.begin(), offered.end(), served.begin(), served.end());
    if (match == offered.end()) {
      std::string names;
      for (const auto& name : served) names += (names.empty() ? "" : ", ") + name;
      write_http_error(fd, 403, "Forbidden",
                       "requested WebSocket protocols are not served; served: " + names);
      return;
    }
    protocol = *match;
  }
  auto target = find(kind, token, true);
  if (!target) {
    write_http_error(fd, 404, "Not Found", "unknown or expired streaming token");
    return;
  }
  if (forwarding && ports.empty()) {
    for (int port : target->port_forward.port()) ports.push_back(static_cast<uint16_t>(port));
  }
  // Base64 channels are one digit: five ports at most there.
  size_t max_ports = protocol.find("base64") != std::string::npos ? 5 : 127;
  if (forwarding && (ports.empty() || ports.size() > max_ports)) {
    write_http_error(fd, 400, "Bad Request",
                     "port forwarding needs 1 to " + std::to_string(max_ports) + " ports");
    return;
  }
  std::vector<std::string> headers = {"Upgrade: websocket", "Connection: Upgrade",
                                      "Sec-WebSocket-Accept: " + websocket::accept_key(keys[0])};
  if (!protocol.empty()) headers.push_back("Sec-WebSocket-Protocol: " + protocol);
  if (!write_http_head(fd, "HTTP/1.1 101 Switching Protocols", headers)) return;

  bool base64 = protocol.find("base64") != std::string::npos;
  if (forwarding) {
    websocket::Connection socket(std::move(connection), base64, false,
                                 static_cast<uint32_t>(2 * ports.size()));
    handler_.port_forward_websocket(socket, target->port_forward, ports);
    socket.close(1000);
    return;
  }
  websocket::Connection socket(std::move(connection), base64, protocol == "v5.channel.k8s.io");
  ChannelProtocol semantics = protocol.starts_with("v4.") || protocol.starts_with("v5.")
                                  ? ChannelProtocol::V4
                                  : ChannelProtocol::V1;
  StreamOptions options = options_of(*target);
  CommandStreams channels = websocket_channels(semantics, options);
  // The kubelet's first message: an empty one on the lowest channel it writes, to say it is ready.
  socket.write(options.stdout ? 1 : (options.stderr && !options.tty ? 2 : 3), {});
  serve_command(*target, socket, channels);
  socket.close(1000);
}

}  // namespace hanok::cri
