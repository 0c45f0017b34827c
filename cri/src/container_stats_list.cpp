#include "call_context.hpp"
#include "cri/runtime_service.hpp"
#include "cri_convert.hpp"
#include "runtime_core.hpp"
#include "stats_reader.hpp"

namespace hanok::cri {

grpc::Status RuntimeService::ListContainerStats(
    grpc::ServerContext*, const runtime::v1::ListContainerStatsRequest* request,
    runtime::v1::ListContainerStatsResponse* response) {
  return logged_call("ListContainerStats", "", [&] {
    const auto& filter = request->filter();
    for (const auto& container : core_.containers()) {
      if (!id_matches(container.id(), filter.id())) continue;
      if (!id_matches(container.pod_id(), filter.pod_sandbox_id())) continue;
      if (!labels_match(container.config().labels(), filter.label_selector())) continue;
      *response->add_stats() = container_stats(core_, container);
    }
    return grpc::Status::OK;
  });
}

}  // namespace hanok::cri
