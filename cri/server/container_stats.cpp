#include "call_context.hpp"
#include "cri/runtime_service.hpp"
#include "isolate/error.hpp"
#include "runtime_core.hpp"
#include "stats_reader.hpp"

namespace hanok::cri {

grpc::Status RuntimeService::ContainerStats(grpc::ServerContext*,
                                            const runtime::v1::ContainerStatsRequest* request,
                                            runtime::v1::ContainerStatsResponse* response) {
  return logged_call("ContainerStats", request->container_id(), [&] {
    std::string id = core_.resolve_container(request->container_id());
    auto container = core_.find_container(id);
    if (!container) {
      throw isolate::Error(isolate::ErrorKind::NotFound, "container " + id + " not found");
    }
    *response->mutable_stats() = container_stats(core_.stats(), *container);
    return grpc::Status::OK;
  });
}

}  // namespace hanok::cri
