#include "cri/image_service.hpp"
#include "images/reference.hpp"

namespace hanok::cri {

namespace {
grpc::StatusCode code_of(const images::RegistryError& error) {
  switch (error.kind()) {
    case images::RegistryError::Kind::NotFound:
      return grpc::StatusCode::NOT_FOUND;
    case images::RegistryError::Kind::Unauthorized:
      return grpc::StatusCode::UNAUTHENTICATED;
    case images::RegistryError::Kind::Network:
      return grpc::StatusCode::UNAVAILABLE;
    default:
      return grpc::StatusCode::UNKNOWN;
  }
}
}  // namespace

grpc::Status ImageService::PullImage(grpc::ServerContext*,
                                     const runtime::v1::PullImageRequest* request,
                                     runtime::v1::PullImageResponse* response) {
  const std::string& name = request->image().image();
  if (name.empty()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "image.image: must not be empty");
  }
  images::PullOptions options;
  if (request->has_auth()) {
    const auto& auth = request->auth();
    options.credentials = images::Credentials{auth.username(), auth.password(), auth.auth(),
                                              auth.identity_token(), auth.registry_token()};
  }
  try {
    auto image = store_.pull(name, options);
    response->set_image_ref(image.id);
    return grpc::Status::OK;
  } catch (const images::ReferenceError& e) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        std::string("image.image: ") + e.what());
  } catch (const images::RegistryError& e) {
    return grpc::Status(code_of(e), e.what());
  } catch (const std::exception& e) {
    return grpc::Status(grpc::StatusCode::UNKNOWN, "pull " + name + ": " + e.what());
  }
}

}  // namespace hanok::cri
