#include <spdlog/spdlog.h>

#include "call_context.hpp"
#include "container_ops.hpp"
#include "cri/runtime_service.hpp"
#include "isolate/error.hpp"
#include "pod_network.hpp"
#include "pod_resources.hpp"
#include "runtime_core.hpp"

namespace hanok::cri {

grpc::Status RuntimeService::RemovePodSandbox(grpc::ServerContext* context,
                                              const runtime::v1::RemovePodSandboxRequest* request,
                                              runtime::v1::RemovePodSandboxResponse*) {
  return logged_call("RemovePodSandbox", request->pod_sandbox_id(), [&] {
    std::string id;
    try {
      id = core_.resolve_pod(request->pod_sandbox_id());
    } catch (const isolate::Error& e) {
      // Removing what is gone already is done.
      if (e.kind() == isolate::ErrorKind::NotFound) return grpc::Status::OK;
      throw;
    }
    auto stop = stop_token_for(context, core_.stopping());
    // Under the pod's lock: no container is created in it meanwhile.
    IdLock lock = core_.locks().lock(id);
    for (const auto& container : core_.containers_of(id)) {
      remove_container(core_, container.id(), stop);
    }
    auto pod = core_.find_pod(id);
    if (!pod) return grpc::Status::OK;
    detach_pod_network(core_.cni_context(), *pod);  // a failure keeps the pod, for another try
    remove_pod_resources(core_, *pod);
    // Before the record goes: the event carries the pod's last status.
    core_.publish(runtime::v1::CONTAINER_DELETED_EVENT, *pod);
    core_.forget_pod(id);
    core_.pod_names().release(pod_name_key(pod->config().metadata()), id);
    core_.locks().forget(id);
    spdlog::info("pod {} removed", id);
    return grpc::Status::OK;
  });
}

}  // namespace hanok::cri
