// The streaming PortForward into a pod: the streaming room's PortForwarder (the protocol) with
// connections to localhost inside the pod's network namespace.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

#include "isolate/error.hpp"
#include "isolate/text.hpp"
#include "pod_resources.hpp"
#include "port_forward.hpp"
#include "runtime_core.hpp"
#include "stream_sessions.hpp"

namespace hanok::cri {

namespace {

using isolate::UniqueFd;

// A TCP connection to localhost:`port`, made in the network namespace `netns` (a pinned
// namespace file; "" for the host's). The socket is made on a thread of its own that joins the
// namespace and ends: a socket stays in the namespace it was made in.
UniqueFd connect_in_namespace(const std::string& netns, uint16_t port) {
  UniqueFd result;
  std::string error;
  auto connect_here = [&] {
    if (!netns.empty()) {
      UniqueFd ns(::open(netns.c_str(), O_RDONLY | O_CLOEXEC));
      if (!ns || ::setns(ns.get(), CLONE_NEWNET) != 0) {
        error = "enter the pod's network namespace: " + isolate::errno_text(errno);
        return;
      }
    }
    for (int family : {AF_INET, AF_INET6}) {
      UniqueFd socket(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
      if (!socket) continue;
      int rc = -1;
      if (family == AF_INET) {
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(port);
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        rc = ::connect(socket.get(), reinterpret_cast<sockaddr*>(&address), sizeof address);
      } else {
        sockaddr_in6 address{};
        address.sin6_family = AF_INET6;
        address.sin6_port = htons(port);
        address.sin6_addr = in6addr_loopback;
        rc = ::connect(socket.get(), reinterpret_cast<sockaddr*>(&address), sizeof address);
      }
      if (rc == 0) {
        result = std::move(socket);
        return;
      }
      error = "connect to localhost:" + std::to_string(port) + ": " + isolate::errno_text(errno);
    }
  };
  if (netns.empty()) {
    connect_here();
  } else {
    std::thread(connect_here).join();
  }
  if (!result) throw std::runtime_error(error);
  return result;
}

// The pinned network namespace of a ready pod ("" for a host-network one); nullopt when the pod
// is not ready.
std::optional<std::string> pod_netns(RuntimeCore& core, const std::string& pod_id) {
  auto pod = core.find_pod(pod_id);
  if (!pod || pod->state() != runtime::v1::SANDBOX_READY) {
    spdlog::warn("port forward: pod {} is not ready", pod_id);
    return std::nullopt;
  }
  if (pod->config().linux().security_context().namespace_options().network() == runtime::v1::NODE) {
    return std::string();
  }
  return pinned_namespace(*pod, "net");
}

PortConnector connector_in(const std::string& netns) {
  return [netns](uint16_t port) { return connect_in_namespace(netns, port); };
}

}  // namespace

void serve_port_forward(RuntimeCore& core, spdy::Session& session,
                        const runtime::v1::PortForwardRequest& request) {
  auto netns = pod_netns(core, request.pod_sandbox_id());
  if (!netns) return;
  PortForwarder forwarder(session, "pod " + request.pod_sandbox_id(), connector_in(*netns));
  forwarder.run_spdy(session);
}

void serve_port_forward_websocket(RuntimeCore& core, StreamTransport& transport,
                                  const runtime::v1::PortForwardRequest& request,
                                  const std::vector<uint16_t>& ports) {
  auto netns = pod_netns(core, request.pod_sandbox_id());
  if (!netns) return;
  PortForwarder forwarder(transport, "pod " + request.pod_sandbox_id(), connector_in(*netns));
  forwarder.run_websocket(ports);
}

}  // namespace hanok::cri
