#include "cni_config.hpp"

#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "isolate/files.hpp"

namespace hanok::cri {

namespace {
// One file's network, or the reason it is not one.
std::optional<CniNetwork> parse_network(const std::string& path, std::string& why) {
  auto text = isolate::read_file_if_exists(path);
  if (!text) {
    why = "cannot read it";
    return std::nullopt;
  }
  auto doc = nlohmann::json::parse(*text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    why = "not JSON";
    return std::nullopt;
  }
  CniNetwork network;
  network.file = path;
  network.name = json_string(doc, "name");
  network.cni_version = json_string(doc, "cniVersion");
  if (network.name.empty()) {
    why = "no name";
    return std::nullopt;
  }
  auto flag = [&](const char* key) {
    auto it = doc.find(key);
    return it != doc.end() && it->is_boolean() && it->get<bool>();
  };
  network.disable_check = flag("disableCheck");
  if (path.ends_with(".conflist")) {
    if (flag("disabled")) {
      why = "disabled";
      return std::nullopt;
    }
    auto plugins = doc.find("plugins");
    if (plugins == doc.end() || !plugins->is_array() || plugins->empty()) {
      why = "no plugins";
      return std::nullopt;
    }
    for (const auto& plugin : *plugins) {
      if (!plugin.is_object() || json_string(plugin, "type").empty()) {
        why = "a plugin without a type";
        return std::nullopt;
      }
      network.plugins.push_back(plugin);
    }
  } else {
    if (json_string(doc, "type").empty()) {
      why = "no type";
      return std::nullopt;
    }
    network.plugins.push_back(doc);
  }
  return network;
}
}  // namespace

std::string json_string(const nlohmann::json& object, const char* key) {
  if (!object.is_object()) return "";
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

CniLoad load_cni_network(const std::string& dir) {
  CniLoad load;
  std::vector<std::string> files;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    std::string path = entry.path().string();
    if (path.ends_with(".conflist") || path.ends_with(".conf") || path.ends_with(".json")) {
      files.push_back(path);
    }
  }
  if (error) {
    load.problem = "cannot read the CNI config dir " + dir + ": " + error.message();
    return load;
  }
  std::sort(files.begin(), files.end());
  std::string skipped;
  for (const auto& file : files) {
    std::string why;
    if (auto network = parse_network(file, why)) {
      load.network = std::move(network);
      return load;
    }
    skipped += (skipped.empty() ? "" : "; ") + file + ": " + why;
  }
  load.problem =
      "no valid CNI network config in " + dir + (skipped.empty() ? "" : " (" + skipped + ")");
  return load;
}

std::string find_cni_plugin(const std::string& type, const std::vector<std::string>& bin_dirs) {
  return isolate::find_executable(type, bin_dirs);
}

}  // namespace hanok::cri
