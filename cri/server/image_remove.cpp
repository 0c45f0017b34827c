#include "call_context.hpp"
#include "cri/image_service.hpp"

namespace hanok::cri {

grpc::Status ImageService::RemoveImage(grpc::ServerContext*,
                                       const runtime::v1::RemoveImageRequest* request,
                                       runtime::v1::RemoveImageResponse*) {
  const std::string& name = request->image().image();
  return logged_call("RemoveImage", name, [&] {
    if (name.empty()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "image.image: must not be empty");
    }
    // Idempotent: an image that is not there is no error.
    if (store_.remove(name)) spdlog::info("removed image {}", name);
    return grpc::Status::OK;
  });
}

}  // namespace hanok::cri
