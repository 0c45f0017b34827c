// PodSandboxStats, ListPodSandboxStats and StreamPodSandboxStats (see pod_stats_reader.cpp).
#include "call_context.hpp"
#include "chunked_writer.hpp"
#include "cri/runtime_service.hpp"
#include "cri_convert.hpp"
#include "isolate/error.hpp"
#include "pod_stats_reader.hpp"
#include "runtime_core.hpp"

namespace hanok::cri {

namespace {
bool stats_match(const store::PodRecord& pod, const runtime::v1::PodSandboxStatsFilter& filter) {
  return id_matches(pod.id(), filter.id()) &&
         labels_match(pod.config().labels(), filter.label_selector());
}
}  // namespace

grpc::Status RuntimeService::PodSandboxStats(grpc::ServerContext*,
                                             const runtime::v1::PodSandboxStatsRequest* request,
                                             runtime::v1::PodSandboxStatsResponse* response) {
  return logged_call("PodSandboxStats", request->pod_sandbox_id(), [&] {
    std::string id = core_.resolve_pod(request->pod_sandbox_id());
    auto pod = core_.find_pod(id);
    if (!pod) {
      throw isolate::Error(isolate::ErrorKind::NotFound, "pod sandbox " + id + " not found");
    }
    *response->mutable_stats() = pod_stats(core_.stats(), *pod, core_.containers_of(id));
    return grpc::Status::OK;
  });
}

grpc::Status RuntimeService::ListPodSandboxStats(
    grpc::ServerContext*, const runtime::v1::ListPodSandboxStatsRequest* request,
    runtime::v1::ListPodSandboxStatsResponse* response) {
  return logged_call("ListPodSandboxStats", "", [&] {
    for (const auto& pod : core_.pods()) {
      if (stats_match(pod, request->filter()))
        *response->add_stats() = pod_stats(core_.stats(), pod, core_.containers_of(pod.id()));
    }
    return grpc::Status::OK;
  });
}

grpc::Status RuntimeService::StreamPodSandboxStats(
    grpc::ServerContext* context, const runtime::v1::StreamPodSandboxStatsRequest* request,
    grpc::ServerWriter<runtime::v1::StreamPodSandboxStatsResponse>* writer) {
  return logged_call("StreamPodSandboxStats", "", [&] {
    ChunkedWriter<runtime::v1::StreamPodSandboxStatsResponse> chunks(context, writer);
    for (const auto& pod : core_.pods()) {
      if (!stats_match(pod, request->filter())) continue;
      if (!chunks.ready()) break;
      *chunks.chunk().add_pod_sandbox_stats() =
          pod_stats(core_.stats(), pod, core_.containers_of(pod.id()));
    }
    return chunks.finish();
  });
}

}  // namespace hanok::cri
