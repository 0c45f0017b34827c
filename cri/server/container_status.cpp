#include <nlohmann/json.hpp>

#include "call_context.hpp"
#include "cri/runtime_service.hpp"
#include "cri_convert.hpp"
#include "isolate/files.hpp"
#include "runtime_core.hpp"

namespace hanok::cri {

grpc::Status RuntimeService::ContainerStatus(grpc::ServerContext*,
                                             const runtime::v1::ContainerStatusRequest* request,
                                             runtime::v1::ContainerStatusResponse* response) {
  return logged_call("ContainerStatus", request->container_id(), [&] {
    std::string id = core_.resolve_container(request->container_id());
    auto container = core_.find_container(id);
    if (!container) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "container " + id + " not found");
    }
    *response->mutable_status() = container_status_of(*container);
    if (request->verbose()) {
      nlohmann::json info = {
          {"sandboxID", container->pod_id()},         {"pid", container->pid()},
          {"monitorPid", container->monitor_pid()},   {"bundle", container->bundle()},
          {"cgroupsPath", container->cgroups_path()},
      };
      if (auto spec = isolate::read_file_if_exists(container->bundle() + "/config.json")) {
        info["runtimeSpec"] = nlohmann::json::parse(*spec, nullptr, false);
      }
      (*response->mutable_info())["info"] = info.dump();
    }
    return grpc::Status::OK;
  });
}

}  // namespace hanok::cri
