#include <nlohmann/json.hpp>

#include "cri/image_service.hpp"

namespace hanok::cri {

void fill_image(const images::ImageInfo& info, runtime::v1::Image& image) {
  image.set_id(info.id);
  for (const auto& tag : info.repo_tags) image.add_repo_tags(tag);
  for (const auto& digest : info.repo_digests) image.add_repo_digests(digest);
  image.set_size(info.size);
  image.mutable_spec()->set_image(info.id);
  // The config's User: a numeric uid goes to `uid`, a name to `username` (group part dropped).
  std::string user;
  try {
    auto config = nlohmann::json::parse(info.config_json);
    if (config.contains("config") && config["config"].contains("User")) {
      user = config["config"]["User"].get<std::string>();
    }
  } catch (const nlohmann::json::exception&) {
  }
  user = user.substr(0, user.find(':'));
  if (user.empty()) return;
  if (user.find_first_not_of("0123456789") == std::string::npos) {
    image.mutable_uid()->set_value(std::stoll(user));
  } else {
    image.set_username(user);
  }
}

}  // namespace hanok::cri
