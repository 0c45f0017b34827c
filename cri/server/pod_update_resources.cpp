// UpdatePodSandboxResources: the pod's resources (what its containers may use together) and its
// overhead, recorded with the pod. The kubelet calls it after it has sized the pod cgroup it
// owns (the pod's cgroup_parent) itself, so hanok writes nothing there, as containerd, which
// only records them and hands them to NRI; only a pod without a cgroup parent, whose cgroup is
// hanok's own (hanok/<pod id>), gets them applied, resources plus overhead.
#include <spdlog/spdlog.h>

#include "call_context.hpp"
#include "container_spec.hpp"
#include "cri/runtime_service.hpp"
#include "isolate/cgroup.hpp"
#include "isolate/error.hpp"
#include "oci/resources.hpp"
#include "runtime_core.hpp"

namespace hanok::cri {

using isolate::Error;
using isolate::ErrorKind;

namespace {
// A limit plus its overhead: a limit of 0 (none) stays none.
int64_t with_overhead(int64_t limit, int64_t overhead) {
  return limit > 0 ? limit + std::max<int64_t>(overhead, 0) : limit;
}

runtime::v1::LinuxContainerResources pod_sizing(const runtime::v1::LinuxContainerResources& pod,
                                                const runtime::v1::LinuxContainerResources& over) {
  runtime::v1::LinuxContainerResources total = pod;
  if (total.cpu_period() == 0) total.set_cpu_period(over.cpu_period());
  total.set_cpu_quota(with_overhead(pod.cpu_quota(), over.cpu_quota()));
  total.set_cpu_shares(with_overhead(pod.cpu_shares(), over.cpu_shares()));
  total.set_memory_limit_in_bytes(
      with_overhead(pod.memory_limit_in_bytes(), over.memory_limit_in_bytes()));
  if (pod.memory_swap_limit_in_bytes() > 0) {
    total.set_memory_swap_limit_in_bytes(
        with_overhead(pod.memory_swap_limit_in_bytes(), over.memory_limit_in_bytes()));
  }
  return total;
}
}  // namespace

grpc::Status RuntimeService::UpdatePodSandboxResources(
    grpc::ServerContext*, const runtime::v1::UpdatePodSandboxResourcesRequest* request,
    runtime::v1::UpdatePodSandboxResourcesResponse*) {
  return logged_call("UpdatePodSandboxResources", request->pod_sandbox_id(), [&] {
    check_resources(request->resources(), "resources.");
    check_resources(request->overhead(), "overhead.");
    std::string id = core_.resolve_pod(request->pod_sandbox_id());
    IdLock lock = core_.locks().lock(id);
    auto pod = core_.find_pod(id);
    if (!pod) throw Error(ErrorKind::NotFound, "pod sandbox " + id + " not found");
    if (pod->state() != runtime::v1::SANDBOX_READY) {
      throw Error(ErrorKind::WrongState, "pod sandbox " + id + " is not ready");
    }
    if (pod->config().linux().cgroup_parent().empty()) {
      auto sizing = pod_sizing(request->resources(), request->overhead());
      isolate::cgroup::Resources resources =
          oci::parse_resources(oci_resources(sizing), "resources");
      isolate::cgroup::open_cgroup(pod->cgroup_path())->apply(resources);
      spdlog::info("pod {}: its own cgroup {} resized", id, pod->cgroup_path());
    }
    *pod->mutable_resources() = request->resources();
    *pod->mutable_overhead() = request->overhead();
    core_.save(*pod);
    return grpc::Status::OK;
  });
}

}  // namespace hanok::cri
