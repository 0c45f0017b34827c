// hanokd's configuration: /etc/hanok/hanok.toml (every key has a default that works on a bare
// node), then command-line flags on top.
#pragma once

#include <string>
#include <vector>

#include "images/registry_client.hpp"

namespace hanok::cri {

struct RegistryAuth {
  std::string registry;  // host[:port]
  std::string username;
  std::string password;
};

struct DaemonConfig {
  std::string socket = "/run/hanok/hanok.sock";
  std::string root = "/var/lib/hanok";
  std::string state = "/run/hanok";
  std::string log_level = "info";
  std::string cgroup_driver = "cgroupfs";  // or "systemd"
  std::string cni_conf_dir = "/etc/cni/net.d";
  std::vector<std::string> cni_bin_dirs = {"/opt/cni/bin", "/usr/lib/cni"};
  std::string streaming_address = "127.0.0.1:0";
  std::vector<images::RegistryHost> registries;
  std::vector<RegistryAuth> auths;
};

inline constexpr const char* kDefaultConfigPath = "/etc/hanok/hanok.toml";

// Reads a TOML file into `config`. A missing file is fine only when `required` is false.
// Errors name the file, and the key: "/etc/hanok/hanok.toml: registries[0].mirrors: ...".
void load_config_file(const std::string& path, bool required, DaemonConfig& config);

}  // namespace hanok::cri
