#include <nlohmann/json.hpp>

#include "cri/image_service.hpp"
#include "isolate/text.hpp"

namespace hanok::cri {

ImageUser image_user(const std::string& config_json) {
  ImageUser result;
  auto config = nlohmann::json::parse(config_json, nullptr, false);
  if (!config.is_object() || !config.contains("config") || !config["config"].is_object()) {
    return result;
  }
  const auto& user = config["config"]["User"];
  if (!user.is_string()) return result;
  std::string name = user.get<std::string>();
  name = name.substr(0, name.find(':'));  // the group part is not the CRI's
  if (name.empty()) return result;
  auto uid = isolate::parse_u64(name);
  if (uid && *uid <= UINT32_MAX) {
    result.uid = static_cast<int64_t>(*uid);
  } else {
    result.username = name;
  }
  return result;
}

void ImageService::fill_image(const images::ImageInfo& info, runtime::v1::Image& image) const {
  image.set_id(info.id);
  bool pinned = false;
  for (const auto& tag : info.repo_tags) {
    image.add_repo_tags(tag);
    pinned = pinned || pinned_.count(tag) != 0;
  }
  for (const auto& digest : info.repo_digests) {
    image.add_repo_digests(digest);
    pinned = pinned || pinned_.count(digest) != 0;
  }
  image.set_size(info.size);
  image.mutable_spec()->set_image(info.id);
  image.set_pinned(pinned || pinned_.count(info.id) != 0);
  ImageUser user = image_user(info.config_json);
  if (user.uid) {
    image.mutable_uid()->set_value(*user.uid);
  } else if (!user.username.empty()) {
    image.set_username(user.username);
  }
}

}  // namespace hanok::cri
