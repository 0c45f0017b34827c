#include "call_context.hpp"
#include "cri/runtime_service.hpp"
#include "cri_convert.hpp"
#include "runtime_core.hpp"

namespace hanok::cri {

grpc::Status RuntimeService::ListPodSandbox(grpc::ServerContext*,
                                            const runtime::v1::ListPodSandboxRequest* request,
                                            runtime::v1::ListPodSandboxResponse* response) {
  return logged_call("ListPodSandbox", "", [&] {
    const auto& filter = request->filter();
    for (const auto& pod : core_.pods()) {
      if (!id_matches(pod.id(), filter.id())) continue;
      if (filter.has_state() && filter.state().state() != pod.state()) continue;
      if (!labels_match(pod.config().labels(), filter.label_selector())) continue;
      *response->add_items() = pod_sandbox_of(pod);
    }
    return grpc::Status::OK;
  });
}

}  // namespace hanok::cri
