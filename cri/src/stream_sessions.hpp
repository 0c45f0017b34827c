// Private to cri/: what runs on an upgraded streaming connection: an exec'd command, an attach
// to a container's stdio through its monitor, and port forwarding into a pod's network
// namespace. Each returns when the session is over; the connection is then closed.
#pragma once

#include <string>

#include "runtime_v1.pb.h"
#include "spdy_session.hpp"

namespace hanok::cri {

class RuntimeCore;

void serve_exec(RuntimeCore& core, spdy::Session& session, const std::string& protocol,
                const runtime::v1::ExecRequest& request);
void serve_attach(RuntimeCore& core, spdy::Session& session, const std::string& protocol,
                  const runtime::v1::AttachRequest& request);
void serve_port_forward(RuntimeCore& core, spdy::Session& session,
                        const runtime::v1::PortForwardRequest& request);

}  // namespace hanok::cri
