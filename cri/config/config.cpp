#include "cri/config.hpp"

#include <toml++/toml.h>
#include <filesystem>
#include <stdexcept>

#include "isolate/files.hpp"

namespace hanok::cri {

namespace {
std::string string_at(const toml::table& table, const char* key, const std::string& where,
                      const std::string& fallback) {
  const toml::node* node = table.get(key);
  if (node == nullptr) return fallback;
  if (auto value = node->value<std::string>()) return *value;
  throw std::invalid_argument(where + key + ": must be a string");
}

std::vector<std::string> strings_at(const toml::table& table, const char* key,
                                    const std::string& where) {
  std::vector<std::string> result;
  const toml::node* node = table.get(key);
  if (node == nullptr) return result;
  const toml::array* array = node->as_array();
  if (array == nullptr) throw std::invalid_argument(where + key + ": must be an array of strings");
  for (const auto& item : *array) {
    auto value = item.value<std::string>();
    if (!value) throw std::invalid_argument(where + key + ": must be an array of strings");
    result.push_back(*value);
  }
  return result;
}

int int_at(const toml::table& table, const char* key, int minimum, int maximum, int fallback) {
  const toml::node* node = table.get(key);
  if (node == nullptr) return fallback;
  auto value = node->value<int64_t>();
  if (!value || *value < minimum || *value > maximum) {
    throw std::invalid_argument(std::string(key) + ": must be a whole number from " +
                                std::to_string(minimum) + " to " + std::to_string(maximum));
  }
  return static_cast<int>(*value);
}

bool bool_at(const toml::table& table, const char* key, const std::string& where, bool fallback) {
  const toml::node* node = table.get(key);
  if (node == nullptr) return fallback;
  auto value = node->value<bool>();
  if (!value) throw std::invalid_argument(where + key + ": must be true or false");
  return *value;
}

const toml::array* tables_at(const toml::table& doc, const char* key) {
  const toml::node* node = doc.get(key);
  if (node == nullptr) return nullptr;
  const toml::array* array = node->as_array();
  if (array == nullptr || !array->is_array_of_tables()) {
    throw std::invalid_argument(std::string(key) + ": must be an array of tables ([[" + key +
                                "]])");
  }
  return array;
}
}  // namespace

void load_config_file(const std::string& path, bool required, DaemonConfig& config) {
  if (!isolate::path_exists(path)) {
    if (required) throw std::runtime_error(path + ": No such file or directory");
    return;
  }
  toml::table doc;
  try {
    doc = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    throw std::runtime_error(path + ": " + std::string(e.description()));
  }
  try {
    config.socket = string_at(doc, "socket", "", config.socket);
    config.root = string_at(doc, "root", "", config.root);
    config.state = string_at(doc, "state", "", config.state);
    config.log_level = string_at(doc, "log_level", "", config.log_level);
    config.cgroup_driver = string_at(doc, "cgroup_driver", "", config.cgroup_driver);
    config.cni_conf_dir = string_at(doc, "cni_conf_dir", "", config.cni_conf_dir);
    if (doc.contains("cni_bin_dirs")) config.cni_bin_dirs = strings_at(doc, "cni_bin_dirs", "");
    config.streaming_address = string_at(doc, "streaming_address", "", config.streaming_address);
    config.streaming_tls_cert = string_at(doc, "streaming_tls_cert", "", config.streaming_tls_cert);
    config.streaming_tls_key = string_at(doc, "streaming_tls_key", "", config.streaming_tls_key);
    if (config.streaming_tls_cert.empty() != config.streaming_tls_key.empty()) {
      throw std::invalid_argument(
          "streaming_tls_cert and streaming_tls_key: give both, or neither");
    }
    config.max_concurrent_downloads =
        int_at(doc, "max_concurrent_downloads", 1, 64, config.max_concurrent_downloads);
    config.image_pull_progress_timeout_s =
        int_at(doc, "image_pull_progress_timeout", 0, 86400, config.image_pull_progress_timeout_s);
    config.platform = string_at(doc, "platform", "", config.platform);
    config.sandbox_image = string_at(doc, "sandbox_image", "", config.sandbox_image);
    config.runtime_path = string_at(doc, "runtime_path", "", config.runtime_path);
    config.monitor_path = string_at(doc, "monitor_path", "", config.monitor_path);
    config.exec_output_limit =
        int_at(doc, "exec_output_limit", 4096, 1 << 30, static_cast<int>(config.exec_output_limit));
    config.exec_sync_buffer_limit = int_at(doc, "exec_sync_buffer_limit", 1 << 20, 1 << 30,
                                           static_cast<int>(config.exec_sync_buffer_limit));
    config.stats_collect_period_ms =
        int_at(doc, "stats_collect_period_ms", 100, 3600 * 1000, config.stats_collect_period_ms);
    config.restore_unsigned_checkpoints =
        bool_at(doc, "restore_unsigned_checkpoints", "", config.restore_unsigned_checkpoints);
    if (doc.contains("pinned_images")) {
      config.pinned_images = strings_at(doc, "pinned_images", "");
    }
    if (const toml::array* registries = tables_at(doc, "registries")) {
      for (size_t i = 0; i < registries->size(); ++i) {
        const toml::table& entry = *registries->get(i)->as_table();
        std::string where = "registries[" + std::to_string(i) + "].";
        images::RegistryHost host;
        host.prefix = string_at(entry, "prefix", where, "");
        if (host.prefix.empty()) throw std::invalid_argument(where + "prefix: is required");
        host.mirrors = strings_at(entry, "mirrors", where);
        host.insecure = bool_at(entry, "insecure", where, host.insecure);
        host.ca_file = string_at(entry, "ca_file", where, "");
        config.registries.push_back(std::move(host));
      }
    }
    if (const toml::array* auths = tables_at(doc, "auths")) {
      for (size_t i = 0; i < auths->size(); ++i) {
        const toml::table& entry = *auths->get(i)->as_table();
        std::string where = "auths[" + std::to_string(i) + "].";
        RegistryAuth auth{string_at(entry, "registry", where, ""),
                          string_at(entry, "username", where, ""),
                          string_at(entry, "password", where, "")};
        if (auth.registry.empty()) throw std::invalid_argument(where + "registry: is required");
        config.auths.push_back(std::move(auth));
      }
    }
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(path + ": " + e.what());
  }
  if (config.cgroup_driver != "cgroupfs" && config.cgroup_driver != "systemd") {
    throw std::runtime_error(path + ": cgroup_driver: must be \"cgroupfs\" or \"systemd\"");
  }
}

void finish_config(DaemonConfig& config) {
  auto absolute = [](std::string& path, const char* key) {
    if (path.empty()) throw std::invalid_argument(std::string(key) + ": must not be empty");
    if (path[0] == '/') return;
    std::error_code error;
    auto resolved = std::filesystem::absolute(path, error);
    if (error) throw std::invalid_argument(std::string(key) + ": " + path + ": " + error.message());
    path = resolved.lexically_normal().string();
  };
  absolute(config.socket, "socket");
  absolute(config.root, "root");
  absolute(config.state, "state");
  if (!config.platform.empty()) images::parse_platform(config.platform);
}

}  // namespace hanok::cri
