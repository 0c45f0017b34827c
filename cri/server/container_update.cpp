#include <spdlog/spdlog.h>

#include "call_context.hpp"
#include "container_spec.hpp"
#include "cri/runtime_service.hpp"
#include "isolate/error.hpp"
#include "runtime_core.hpp"

namespace hanok::cri {

using isolate::Error;
using isolate::ErrorKind;

grpc::Status RuntimeService::UpdateContainerResources(
    grpc::ServerContext*, const runtime::v1::UpdateContainerResourcesRequest* request,
    runtime::v1::UpdateContainerResourcesResponse*) {
  return logged_call("UpdateContainerResources", request->container_id(), [&] {
    std::string id = core_.resolve_container(request->container_id());
    check_resources(request->linux(), "linux.");
    IdLock lock = core_.locks().lock(id);
    auto container = core_.find_container(id);
    if (!container) throw Error(ErrorKind::NotFound, "container " + id + " not found");
    if (container->state() != runtime::v1::CONTAINER_CREATED &&
        container->state() != runtime::v1::CONTAINER_RUNNING) {
      throw Error(ErrorKind::WrongState, "container " + id + " is not running");
    }
    core_.runtime().update(id, oci_resources(request->linux()), container->systemd_cgroup(),
                           container->bundle());
    *container->mutable_resources() = request->linux();
    core_.save(*container);
    spdlog::info("container {}: resources updated", id);
    return grpc::Status::OK;
  });
}

}  // namespace hanok::cri
