#include <chrono>

#include "call_context.hpp"
#include "cri/image_service.hpp"
#include "images/reference.hpp"

namespace hanok::cri {

grpc::Status ImageService::PullImage(grpc::ServerContext* context,
                                     const runtime::v1::PullImageRequest* request,
                                     runtime::v1::PullImageResponse* response) {
  const std::string& name = request->image().image();
  return logged_call("PullImage", name, [&] {
    if (name.empty()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "image.image: must not be empty");
    }
    try {
      images::parse_reference(name);
    } catch (const images::ReferenceError& e) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          std::string("image.image: ") + e.what());
    }
    images::PullOptions options;
    if (request->has_auth()) {
      const auto& auth = request->auth();
      options.credentials =
          images::Credentials{auth.username(),       auth.password(),       auth.auth(),
                              auth.identity_token(), auth.registry_token(), auth.server_address()};
    }
    options.stop = stop_token_for(context, stopping_);
    auto start = std::chrono::steady_clock::now();
    spdlog::info("pulling {}", name);
    images::ImageInfo image = store_.pull(name, options);
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    spdlog::info("pulled {} as {}: {} bytes in {:.2f} s", name, image.id, image.size, seconds);
    response->set_image_ref(image.id);
    return grpc::Status::OK;
  });
}

}  // namespace hanok::cri
