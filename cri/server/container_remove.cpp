#include "call_context.hpp"
#include "container_ops.hpp"
#include "cri/runtime_service.hpp"
#include "isolate/error.hpp"
#include "runtime_core.hpp"

namespace hanok::cri {

grpc::Status RuntimeService::RemoveContainer(grpc::ServerContext* context,
                                             const runtime::v1::RemoveContainerRequest* request,
                                             runtime::v1::RemoveContainerResponse*) {
  return logged_call("RemoveContainer", request->container_id(), [&] {
    std::string id;
    try {
      id = core_.resolve_container(request->container_id());
    } catch (const isolate::Error& e) {
      if (e.kind() == isolate::ErrorKind::NotFound) return grpc::Status::OK;
      throw;
    }
    remove_container(core_, id, stop_token_for(context, core_.stopping()));
    return grpc::Status::OK;
  });
}

}  // namespace hanok::cri
