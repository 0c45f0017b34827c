#include <nlohmann/json.hpp>

#include "call_context.hpp"
#include "cri/image_service.hpp"

namespace hanok::cri {

grpc::Status ImageService::ImageStatus(grpc::ServerContext*,
                                       const runtime::v1::ImageStatusRequest* request,
                                       runtime::v1::ImageStatusResponse* response) {
  const std::string& name = request->image().image();
  return logged_call("ImageStatus", name, [&] {
    if (name.empty()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "image.image: must not be empty");
    }
    auto image = store_.find(name);
    if (!image) return grpc::Status::OK;  // not present: no image in the answer, as the CRI says
    fill_image(*image, *response->mutable_image());
    if (request->verbose()) {
      nlohmann::json info = {
          {"imageSpec", nlohmann::json::parse(image->config_json, nullptr, false)},
          {"chainIDs", nlohmann::json::array()}};
      for (const auto& chain : image->chain_ids) info["chainIDs"].push_back(chain.str());
      (*response->mutable_info())["info"] = info.dump();
    }
    return grpc::Status::OK;
  });
}

}  // namespace hanok::cri
