// Port forwarding's framing (portforward.k8s.io, as the kubelet serves it), whatever is behind
// the ports. Over SPDY the client opens a pair of streams per connection it forwards (headers
// streamType error|data, port, requestID); over WebSocket (v4) each port of the URL is one
// connection, on channels 2i (data) and 2i+1 (error), each starting with the port as two bytes,
// little endian. Each connection gets the socket its connector makes for the port, bytes both
// ways, and on failure the reason on its error stream.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "isolate/unique_fd.hpp"
#include "spdy_session.hpp"
#include "stream_transport.hpp"

namespace hanok::cri {

// A connected socket to `port` of whatever is forwarded to; throws (its message goes to the
// client) when it cannot. Called on a thread of the connection's own.
using PortConnector = std::function<isolate::UniqueFd(uint16_t port)>;

class PortForwarder {
 public:
  // `target` names what is forwarded to in messages ("pod <id>").
  PortForwarder(StreamTransport& transport, std::string target, PortConnector connect);
  // Ends every connection (shuts down its socket) and waits for them.
  ~PortForwarder();
  PortForwarder(const PortForwarder&) = delete;
  PortForwarder& operator=(const PortForwarder&) = delete;

  // SPDY: pairs of streams as the client opens them, until the session ends. A pair not
  // complete 30 s after its first stream (the kubelet's stream creation timeout) is given up.
  void run_spdy(spdy::Session& session);
  // WebSocket: the connections to `ports` at once; returns when they all ended or the client
  // left.
  void run_websocket(const std::vector<uint16_t>& ports);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hanok::cri
