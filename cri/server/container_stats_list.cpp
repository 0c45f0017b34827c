#include "call_context.hpp"
#include "chunked_writer.hpp"
#include "cri/runtime_service.hpp"
#include "cri_convert.hpp"
#include "list_filters.hpp"
#include "runtime_core.hpp"
#include "stats_reader.hpp"

namespace hanok::cri {

grpc::Status RuntimeService::ListContainerStats(
    grpc::ServerContext*, const runtime::v1::ListContainerStatsRequest* request,
    runtime::v1::ListContainerStatsResponse* response) {
  return logged_call("ListContainerStats", "", [&] {
    const auto& filter = request->filter();
    for (const auto& container : core_.containers()) {
      if (container_stats_match(container, filter)) {
        *response->add_stats() = container_stats(core_.stats(), container);
      }
    }
    return grpc::Status::OK;
  });
}

grpc::Status RuntimeService::StreamContainerStats(
    grpc::ServerContext* context, const runtime::v1::StreamContainerStatsRequest* request,
    grpc::ServerWriter<runtime::v1::StreamContainerStatsResponse>* writer) {
  return logged_call("StreamContainerStats", "", [&] {
    ChunkedWriter<runtime::v1::StreamContainerStatsResponse> chunks(context, writer);
    for (const auto& container : core_.containers()) {
      if (!container_stats_match(container, request->filter())) continue;
      if (!chunks.ready()) break;
      *chunks.chunk().add_container_stats() = container_stats(core_.stats(), container);
    }
    return chunks.finish();
  });
}

}  // namespace hanok::cri
