#include "call_context.hpp"
#include "chunked_writer.hpp"
#include "cri/runtime_service.hpp"
#include "cri_convert.hpp"
#include "list_filters.hpp"
#include "runtime_core.hpp"

namespace hanok::cri {

grpc::Status RuntimeService::ListPodSandbox(grpc::ServerContext*,
                                            const runtime::v1::ListPodSandboxRequest* request,
                                            runtime::v1::ListPodSandboxResponse* response) {
  return logged_call("ListPodSandbox", "", [&] {
    const auto& filter = request->filter();
    for (const auto& pod : core_.pods()) {
      if (pod_matches(pod, filter)) *response->add_items() = pod_sandbox_of(pod);
    }
    return grpc::Status::OK;
  });
}

grpc::Status RuntimeService::StreamPodSandboxes(
    grpc::ServerContext* context, const runtime::v1::StreamPodSandboxesRequest* request,
    grpc::ServerWriter<runtime::v1::StreamPodSandboxesResponse>* writer) {
  return logged_call("StreamPodSandboxes", "", [&] {
    ChunkedWriter<runtime::v1::StreamPodSandboxesResponse> chunks(context, writer);
    for (const auto& pod : core_.pods()) {
      if (!pod_matches(pod, request->filter())) continue;
      if (!chunks.ready()) break;
      *chunks.chunk().add_pod_sandboxes() = pod_sandbox_of(pod);
    }
    return chunks.finish();
  });
}

}  // namespace hanok::cri
