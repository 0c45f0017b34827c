// The streaming server, where the kubelet and crictl go with the URL an Exec, Attach or
// PortForward call answered (as the kubelet's own streaming server works). It knows nothing of
// pods or containers: a URL's token stands for a request, and a StreamHandler serves it. Each
// URL holds a single-use random token that expires after a minute; the client upgrades its
// HTTP connection to SPDY/3.1 there, negotiating the protocol version, and the session runs on
// a thread of its own. They are also served over WebSocket: exec and attach with the channel
// protocols v5, v4 and older, binary or base64; port forwarding with v4's (a data and an error
// channel per port of the URL).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "isolate/unique_fd.hpp"
#include "remote_command.hpp"
#include "runtime_v1.pb.h"
#include "spdy_session.hpp"
#include "stream_http.hpp"
#include "stream_tls.hpp"
#include "stream_transport.hpp"

namespace hanok::cri {

struct StreamTarget {
  enum class Kind { Exec, Attach, PortForward };
  Kind kind = Kind::Exec;
  runtime::v1::ExecRequest exec;
  runtime::v1::AttachRequest attach;
  runtime::v1::PortForwardRequest port_forward;
};

// What runs on an upgraded connection, once its request was found by its token. Each call
// returns when the session is over; the connection is then closed. Called on the session's own
// thread, several at once.
class StreamHandler {
 public:
  virtual ~StreamHandler() = default;
  // The client's streams are open (`streams`); these run the command or the attach and end with
  // the status on the error stream.
  virtual void exec(StreamTransport& session, const CommandStreams& streams,
                    const runtime::v1::ExecRequest& request) = 0;
  virtual void attach(StreamTransport& session, const CommandStreams& streams,
                      const runtime::v1::AttachRequest& request) = 0;
  // Over SPDY: a pair of streams (data, error) per forwarded connection, as the client opens them.
  virtual void port_forward(spdy::Session& session,
                            const runtime::v1::PortForwardRequest& request) = 0;
  // Over WebSocket: one connection per port of `ports` (the URL's), data on channel 2i and errors
  // on 2i+1, both starting with the port, little endian; returns when they all ended.
  virtual void port_forward_websocket(StreamTransport& transport,
                                      const runtime::v1::PortForwardRequest& request,
                                      const std::vector<uint16_t>& ports) = 0;
};

class StreamingServer {
 public:
  // Listens on `address` ("127.0.0.1:0", "[::1]:10010", "0.0.0.0:10010"), with TLS when
  // `tls_cert` and `tls_key` (PEM files) are given. Throws when it cannot.
  StreamingServer(StreamHandler& handler, const std::string& address,
                  const std::string& tls_cert = "", const std::string& tls_key = "");
  ~StreamingServer();  // stops listening, ends every session, waits for their threads
  StreamingServer(const StreamingServer&) = delete;
  StreamingServer& operator=(const StreamingServer&) = delete;

  // A URL for `target`, valid once within a minute.
  std::string url_for(StreamTarget target);
  const std::string& base_url() const { return base_url_; }

 private:
  struct Pending {
    StreamTarget target;
    std::chrono::steady_clock::time_point expires;
  };
  void accept_loop();
  void serve_connection(isolate::UniqueFd connection);
  void serve_websocket(isolate::UniqueFd connection, const HttpRequest& request,
                       StreamTarget::Kind kind, const std::string& token);
  void serve_command(const StreamTarget& target, StreamTransport& transport,
                     const CommandStreams& streams);
  // The target of `kind`/`token` if it is still valid; removed from the cache when `take`.
  std::optional<StreamTarget> find(StreamTarget::Kind kind, const std::string& token, bool take);

  StreamHandler& handler_;
  std::unique_ptr<TlsContext> tls_;
  isolate::UniqueFd listener_;
  std::string base_url_;
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::condition_variable drained_;
  std::map<std::string, Pending> pending_;
  std::set<int> connections_;  // live connections, shut down at stop
  size_t active_ = 0;
  std::thread acceptor_;
};

}  // namespace hanok::cri
