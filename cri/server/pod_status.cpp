#include <google/protobuf/util/json_util.h>

#include <nlohmann/json.hpp>

#include "call_context.hpp"

#include "cri/runtime_service.hpp"
#include "cri_convert.hpp"
#include "isolate/clock.hpp"
#include "pod_network.hpp"
#include "runtime_core.hpp"

namespace hanok::cri {

namespace {
nlohmann::json json_of(const google::protobuf::Message& message) {
  std::string text;
  (void)google::protobuf::util::MessageToJsonString(message, &text);
  return nlohmann::json::parse(text, nullptr, false);
}
}  // namespace

grpc::Status RuntimeService::PodSandboxStatus(grpc::ServerContext* context,
                                              const runtime::v1::PodSandboxStatusRequest* request,
                                              runtime::v1::PodSandboxStatusResponse* response) {
  return logged_call("PodSandboxStatus", request->pod_sandbox_id(), [&] {
    std::string id = core_.resolve_pod(request->pod_sandbox_id());
    auto pod = core_.find_pod(id);
    if (!pod) return grpc::Status(grpc::StatusCode::NOT_FOUND, "pod sandbox " + id + " not found");
    *response->mutable_status() = pod_sandbox_status_of(*pod);
    // Both or neither: with the EventedPLEG gate, a timestamp makes the kubelet take the
    // containers' statuses from this answer alone (an empty list would be a pod without
    // containers, which it would create again beside the running ones).
    response->set_timestamp(isolate::unix_now_ns());
    *response->mutable_containers_statuses() = core_.containers_statuses(id);
    if (request->verbose()) {
      nlohmann::json info = {
          {"pid", pod->init_pid()},
          {"pinnedNamespaces",
           std::vector<std::string>(pod->pinned().begin(), pod->pinned().end())},
          {"dir", pod->dir()},
          {"cgroupParent", pod->cgroup_parent()},
          {"cgroupPath", pod->cgroup_path()},
          {"runtimeHandler", pod->runtime_handler()},
          {"config", json_of(pod->config())},
      };
      // The last UpdatePodSandboxResources, as recorded.
      if (pod->has_resources()) info["resources"] = json_of(pod->resources());
      if (pod->has_overhead()) info["overhead"] = json_of(pod->overhead());
      // CHECK of the pod's network: what an operator asks for with a verbose status.
      if (pod->state() == runtime::v1::SANDBOX_READY && !pod->ips().empty()) {
        info["networkCheck"] =
            check_pod_network(core_.cni_context(), *pod, stop_token_for(context, core_.stopping()));
      }
      (*response->mutable_info())["info"] = info.dump();
    }
    return grpc::Status::OK;
  });
}

}  // namespace hanok::cri
