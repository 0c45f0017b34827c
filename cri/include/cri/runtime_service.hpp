// The CRI RuntimeService. Only Version is served yet: gRPC answers UNIMPLEMENTED for the pod and
// container calls until the RuntimeService work lands.
#pragma once

#include <grpcpp/grpcpp.h>

#include "runtime_v1.grpc.pb.h"

namespace hanok::cri {

inline constexpr const char* kRuntimeName = "hanok";
inline constexpr const char* kCriApiVersion = "v1";

class RuntimeService final : public runtime::v1::RuntimeService::Service {
 public:
  grpc::Status Version(grpc::ServerContext* context, const runtime::v1::VersionRequest* request,
                       runtime::v1::VersionResponse* response) override;
};

}  // namespace hanok::cri
