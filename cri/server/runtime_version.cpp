#include "cri/runtime_service.hpp"

namespace hanok::cri {

grpc::Status RuntimeService::Version(grpc::ServerContext*, const runtime::v1::VersionRequest*,
                                     runtime::v1::VersionResponse* response) {
  response->set_version("0.1.0");  // the kubelet's runtime API version of this answer
  response->set_runtime_name(kRuntimeName);
  response->set_runtime_version(HANOK_VERSION);
  response->set_runtime_api_version(kCriApiVersion);
  return grpc::Status::OK;
}

}  // namespace hanok::cri
