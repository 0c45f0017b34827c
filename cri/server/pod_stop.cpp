#include <spdlog/spdlog.h>

#include "call_context.hpp"
#include "container_ops.hpp"
#include "cri/runtime_service.hpp"
#include "pod_network.hpp"
#include "pod_resources.hpp"
#include "runtime_core.hpp"

namespace hanok::cri {

grpc::Status RuntimeService::StopPodSandbox(grpc::ServerContext* context,
                                            const runtime::v1::StopPodSandboxRequest* request,
                                            runtime::v1::StopPodSandboxResponse*) {
  return logged_call("StopPodSandbox", request->pod_sandbox_id(), [&] {
    std::string id = core_.resolve_pod(request->pod_sandbox_id());
    auto stop = stop_token_for(context, core_.stopping());
    // Under the pod's lock: no container is created in it meanwhile.
    IdLock lock = core_.locks().lock(id);
    for (const auto& container : core_.containers_of(id)) {
      stop_container(core_, container.id(), 0, stop);
    }
    auto pod = core_.find_pod(id);
    if (!pod) return grpc::Status::OK;  // removed meanwhile
    if (pod->state() != runtime::v1::SANDBOX_NOTREADY || pod->pinned_size() > 0 ||
        pod->shm_mounted()) {
      // The network first (its plugins need the namespace); a failure leaves the pod as it is,
      // for the kubelet to try again.
      detach_pod_network(core_.cni_context(), *pod);
      release_pod_namespaces(core_, *pod);
      unmount_pod_shm(*pod);
      pod->set_state(runtime::v1::SANDBOX_NOTREADY);
      core_.save(*pod);
      spdlog::info("pod {} stopped", id);
      core_.publish(runtime::v1::CONTAINER_STOPPED_EVENT, *pod);
    }
    return grpc::Status::OK;
  });
}

}  // namespace hanok::cri
