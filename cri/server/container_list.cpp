#include "call_context.hpp"
#include "chunked_writer.hpp"
#include "cri/runtime_service.hpp"
#include "cri_convert.hpp"
#include "list_filters.hpp"
#include "runtime_core.hpp"

namespace hanok::cri {

grpc::Status RuntimeService::ListContainers(grpc::ServerContext*,
                                            const runtime::v1::ListContainersRequest* request,
                                            runtime::v1::ListContainersResponse* response) {
  return logged_call("ListContainers", "", [&] {
    const auto& filter = request->filter();
    for (const auto& container : core_.containers()) {
      if (container_matches(container, filter))
        *response->add_containers() = container_of(container);
    }
    return grpc::Status::OK;
  });
}

grpc::Status RuntimeService::StreamContainers(
    grpc::ServerContext* context, const runtime::v1::StreamContainersRequest* request,
    grpc::ServerWriter<runtime::v1::StreamContainersResponse>* writer) {
  return logged_call("StreamContainers", "", [&] {
    ChunkedWriter<runtime::v1::StreamContainersResponse> chunks(context, writer);
    for (const auto& container : core_.containers()) {
      if (!container_matches(container, request->filter())) continue;
      if (!chunks.ready()) break;
      *chunks.chunk().add_containers() = container_of(container);
    }
    return chunks.finish();
  });
}

}  // namespace hanok::cri
