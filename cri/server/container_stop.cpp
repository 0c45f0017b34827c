#include "call_context.hpp"
#include "container_ops.hpp"
#include "cri/runtime_service.hpp"
#include "runtime_core.hpp"

namespace hanok::cri {

grpc::Status RuntimeService::StopContainer(grpc::ServerContext* context,
                                           const runtime::v1::StopContainerRequest* request,
                                           runtime::v1::StopContainerResponse*) {
  return logged_call("StopContainer", request->container_id(), [&] {
    std::string id = core_.resolve_container(request->container_id());
    if (request->timeout() < 0) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "timeout: must not be negative");
    }
    stop_container(core_, id, request->timeout(), stop_token_for(context, core_.stopping()));
    return grpc::Status::OK;
  });
}

}  // namespace hanok::cri
