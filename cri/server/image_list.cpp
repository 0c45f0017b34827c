#include "call_context.hpp"
#include "chunked_writer.hpp"
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

grpc::Status ImageService::StreamImages(
    grpc::ServerContext* context, const runtime::v1::StreamImagesRequest* request,
    grpc::ServerWriter<runtime::v1::StreamImagesResponse>* writer) {
  const std::string& wanted = request->filter().image().image();
  return logged_call("StreamImages", wanted, [&] {
    ChunkedWriter<runtime::v1::StreamImagesResponse> chunks(context, writer);
    if (!wanted.empty()) {
      if (auto image = store_.find(wanted)) {
        chunks.ready();
        fill_image(*image, *chunks.chunk().add_images());
      }
      return chunks.finish();
    }
    for (const auto& image : store_.list()) {
      if (!chunks.ready()) break;
      fill_image(image, *chunks.chunk().add_images());
    }
    return chunks.finish();
  });
}

}  // namespace hanok::cri
