// ListMetricDescriptors, ListPodSandboxMetrics and StreamPodSandboxMetrics (see
// pod_metrics.cpp).
#include "call_context.hpp"
#include "chunked_writer.hpp"
#include "cri/runtime_service.hpp"
#include "pod_metrics.hpp"
#include "runtime_core.hpp"

namespace hanok::cri {

grpc::Status RuntimeService::ListMetricDescriptors(
    grpc::ServerContext*, const runtime::v1::ListMetricDescriptorsRequest*,
    runtime::v1::ListMetricDescriptorsResponse* response) {
  return logged_call("ListMetricDescriptors", "", [&] {
    for (const auto& descriptor : metric_descriptors()) *response->add_descriptors() = descriptor;
    return grpc::Status::OK;
  });
}

grpc::Status RuntimeService::ListPodSandboxMetrics(
    grpc::ServerContext*, const runtime::v1::ListPodSandboxMetricsRequest*,
    runtime::v1::ListPodSandboxMetricsResponse* response) {
  return logged_call("ListPodSandboxMetrics", "", [&] {
    for (const auto& pod : core_.pods()) {
      if (pod.state() == runtime::v1::SANDBOX_READY) {
        *response->add_pod_metrics() =
            pod_metrics(core_.stats(), pod, core_.containers_of(pod.id()));
      }
    }
    return grpc::Status::OK;
  });
}

grpc::Status RuntimeService::StreamPodSandboxMetrics(
    grpc::ServerContext* context, const runtime::v1::StreamPodSandboxMetricsRequest*,
    grpc::ServerWriter<runtime::v1::StreamPodSandboxMetricsResponse>* writer) {
  return logged_call("StreamPodSandboxMetrics", "", [&] {
    ChunkedWriter<runtime::v1::StreamPodSandboxMetricsResponse> chunks(context, writer);
    for (const auto& pod : core_.pods()) {
      if (pod.state() != runtime::v1::SANDBOX_READY) continue;
      if (!chunks.ready()) break;
      *chunks.chunk().add_pod_sandbox_metrics() =
          pod_metrics(core_.stats(), pod, core_.containers_of(pod.id()));
    }
    return chunks.finish();
  });
}

}  // namespace hanok::cri
