#include "call_context.hpp"
#include "cri/image_service.hpp"

namespace hanok::cri {

grpc::Status ImageService::ListImages(grpc::ServerContext*,
                                      const runtime::v1::ListImagesRequest* request,
                                      runtime::v1::ListImagesResponse* response) {
  const std::string& wanted = request->filter().image().image();
  return logged_call("ListImages", wanted, [&] {
    if (!wanted.empty()) {
      if (auto image = store_.find(wanted)) fill_image(*image, *response->add_images());
      return grpc::Status::OK;
    }
    for (const auto& image : store_.list()) fill_image(image, *response->add_images());
    return grpc::Status::OK;
  });
}

}  // namespace hanok::cri
