#include "cri/image_service.hpp"

namespace hanok::cri {

grpc::Status ImageService::RemoveImage(grpc::ServerContext*,
                                       const runtime::v1::RemoveImageRequest* request,
                                       runtime::v1::RemoveImageResponse*) {
  const std::string& name = request->image().image();
  if (name.empty()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "image.image: must not be empty");
  }
  try {
    store_.remove(name);  // idempotent: an image that is not there is no error
    return grpc::Status::OK;
  } catch (const std::exception& e) {
    return grpc::Status(grpc::StatusCode::INTERNAL, "remove image " + name + ": " + e.what());
  }
}

}  // namespace hanok::cri
