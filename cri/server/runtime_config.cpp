#include "call_context.hpp"
#include "cri/runtime_service.hpp"
#include "runtime_core.hpp"

namespace hanok::cri {

grpc::Status RuntimeService::RuntimeConfig(grpc::ServerContext*,
                                           const runtime::v1::RuntimeConfigRequest*,
                                           runtime::v1::RuntimeConfigResponse* response) {
  return logged_call("RuntimeConfig", "", [&] {
    response->mutable_linux()->set_cgroup_driver(
        core_.config().cgroup_driver == "systemd" ? runtime::v1::SYSTEMD : runtime::v1::CGROUPFS);
    return grpc::Status::OK;
  });
}

}  // namespace hanok::cri
