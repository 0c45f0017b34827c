// PortForward: checks the pod and answers a URL of the streaming server, where the client's
// connections reach ports inside the pod's network namespace (see stream_port_forward.cpp).
#include "call_context.hpp"
#include "cri/runtime_service.hpp"
#include "isolate/error.hpp"
#include "runtime_core.hpp"
#include "stream_server.hpp"

namespace hanok::cri {

using isolate::Error;
using isolate::ErrorKind;

grpc::Status RuntimeService::PortForward(grpc::ServerContext*,
                                         const runtime::v1::PortForwardRequest* request,
                                         runtime::v1::PortForwardResponse* response) {
  return logged_call("PortForward", request->pod_sandbox_id(), [&] {
    std::string id = core_.resolve_pod(request->pod_sandbox_id());
    auto pod = core_.find_pod(id);
    if (!pod) throw Error(ErrorKind::NotFound, "pod sandbox " + id + " not found");
    if (pod->state() != runtime::v1::SANDBOX_READY) {
      throw Error(ErrorKind::NotRunning, "pod sandbox " + id + " is not ready");
    }
    for (int port : request->port()) {
      if (port <= 0 || port > 65535) {
        throw Error(ErrorKind::Invalid, "port: " + std::to_string(port) + " is not a port");
      }
    }
    StreamTarget target;
    target.kind = StreamTarget::Kind::PortForward;
    target.port_forward = *request;
    target.port_forward.set_pod_sandbox_id(id);
    response->set_url(streaming_.url_for(std::move(target)));
    return grpc::Status::OK;
  });
}

}  // namespace hanok::cri
