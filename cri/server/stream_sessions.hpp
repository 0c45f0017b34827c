// Private to cri/: what runs on an upgraded streaming connection, as the streaming server's
// handler: an exec'd command, an attach to a container's stdio through its monitor, and port
// forwarding into a pod's network namespace. Each returns when the session is over; the
// connection is then closed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "remote_command.hpp"
#include "runtime_v1.pb.h"
#include "spdy_session.hpp"
#include "stream_server.hpp"
#include "stream_transport.hpp"

namespace hanok::cri {

class RuntimeCore;

// The client's streams are open (`streams`); these run the command or the attach and end with
// the status on the error stream.
void serve_exec(RuntimeCore& core, StreamTransport& session, const CommandStreams& streams,
                const runtime::v1::ExecRequest& request);
void serve_attach(RuntimeCore& core, StreamTransport& session, const CommandStreams& streams,
                  const runtime::v1::AttachRequest& request);
void serve_port_forward(RuntimeCore& core, spdy::Session& session,
                        const runtime::v1::PortForwardRequest& request);
// Over WebSocket: one connection per port of `ports` (the URL's), data on channel 2i and errors
// on 2i+1, both starting with the port, little endian; returns when they all ended.
void serve_port_forward_websocket(RuntimeCore& core, StreamTransport& transport,
                                  const runtime::v1::PortForwardRequest& request,
                                  const std::vector<uint16_t>& ports);

// The streaming server's handler: the pods and containers of `core`.
class PodStreamHandler final : public StreamHandler {
 public:
  explicit PodStreamHandler(RuntimeCore& core) : core_(core) {}
  void exec(StreamTransport& session, const CommandStreams& streams,
            const runtime::v1::ExecRequest& request) override {
    serve_exec(core_, session, streams, request);
  }
  void attach(StreamTransport& session, const CommandStreams& streams,
              const runtime::v1::AttachRequest& request) override {
    serve_attach(core_, session, streams, request);
  }
  void port_forward(spdy::Session& session,
                    const runtime::v1::PortForwardRequest& request) override {
    serve_port_forward(core_, session, request);
  }
  void port_forward_websocket(StreamTransport& transport,
                              const runtime::v1::PortForwardRequest& request,
                              const std::vector<uint16_t>& ports) override {
    serve_port_forward_websocket(core_, transport, request, ports);
  }

 private:
  RuntimeCore& core_;
};

}  // namespace hanok::cri
