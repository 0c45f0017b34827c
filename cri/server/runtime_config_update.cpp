#include <spdlog/spdlog.h>

#include "call_context.hpp"
#include "cri/runtime_service.hpp"
#include "runtime_core.hpp"

namespace hanok::cri {

grpc::Status RuntimeService::UpdateRuntimeConfig(
    grpc::ServerContext*, const runtime::v1::UpdateRuntimeConfigRequest* request,
    runtime::v1::UpdateRuntimeConfigResponse*) {
  const std::string& cidr = request->runtime_config().network_config().pod_cidr();
  return logged_call("UpdateRuntimeConfig", cidr, [&] {
    if (!cidr.empty() && cidr != core_.pod_cidr()) {
      spdlog::info("pod CIDR is now {}", cidr);
      core_.set_pod_cidr(cidr);
    }
    return grpc::Status::OK;
  });
}

}  // namespace hanok::cri
