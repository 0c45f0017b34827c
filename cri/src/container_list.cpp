#include "call_context.hpp"
#include "cri/runtime_service.hpp"
#include "cri_convert.hpp"
#include "runtime_core.hpp"

namespace hanok::cri {

grpc::Status RuntimeService::ListContainers(grpc::ServerContext*,
                                            const runtime::v1::ListContainersRequest* request,
                                            runtime::v1::ListContainersResponse* response) {
  return logged_call("ListContainers", "", [&] {
    const auto& filter = request->filter();
    for (const auto& container : core_.containers()) {
      if (!id_matches(container.id(), filter.id())) continue;
      if (!id_matches(container.pod_id(), filter.pod_sandbox_id())) continue;
      if (filter.has_state() && filter.state().state() != container.state()) continue;
      if (!labels_match(container.config().labels(), filter.label_selector())) continue;
      *response->add_containers() = container_of(container);
    }
    return grpc::Status::OK;
  });
}

}  // namespace hanok::cri
