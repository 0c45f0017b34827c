// Private to cri/: the node's CNI network, as the CNI spec (1.0, and the 0.x versions plugins
// still speak) defines its config: the first valid .conflist/.conf/.json in the config dir, in
// lexical order, and where each plugin it names is found.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace hanok::cri {

struct CniNetwork {
  std::string file;  // where it was read from
  std::string name;
  std::string cni_version;
  bool disable_check = false;           // "disableCheck": no CHECK for this network
  std::vector<nlohmann::json> plugins;  // each plugin's config object, in order
};

struct CniLoad {
  std::optional<CniNetwork> network;
  std::string problem;  // why there is none: the dir is empty, a file is invalid, ...
};

// The string at `key` of a JSON object; "" when absent or not a string (configs and plugin
// output are outside input: a wrong type is no reason to throw).
std::string json_string(const nlohmann::json& object, const char* key);

// Reads the first valid network config of `dir` (".conflist", ".conf", ".json"; a ".conf" is a
// single plugin). Files that do not parse, have no name, no plugins or a disabled list are
// skipped (and named in `problem` when nothing valid is left).
CniLoad load_cni_network(const std::string& dir);

// The path of the plugin binary `type` in the first of `bin_dirs` that has it; "" when none.
std::string find_cni_plugin(const std::string& type, const std::vector<std::string>& bin_dirs);

}  // namespace hanok::cri
