// hanokd's configuration: /etc/hanok/hanok.toml (every key has a default that works on a bare
// node), then command-line flags on top.
#pragma once

#include <cstdint>
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
  // TLS for the streaming server: a PEM certificate (chain) and its key; both or neither.
  std::string streaming_tls_cert;
  std::string streaming_tls_key;
  std::vector<images::RegistryHost> registries;
  std::vector<RegistryAuth> auths;
  // Images.
  int max_concurrent_downloads = 3;         // layers of one pull fetched at once
  int image_pull_progress_timeout_s = 300;  // a pull that receives nothing this long fails
  std::string platform;                     // "os/arch[/variant]"; empty: this machine's
  std::string sandbox_image = "registry.k8s.io/pause:3.9";  // reported pinned
  std::vector<std::string> pinned_images;  // reported pinned (the kubelet never GCs them)
  // Containers.
  std::string runtime_path;              // the OCI runtime (hanok); empty: next to hanokd
  std::string monitor_path;              // hanok-monitor; empty: next to hanokd
  int64_t exec_output_limit = 16 << 20;  // ExecSync keeps this much of stdout and of stderr
  // What all ExecSync calls together may hold of their output at once; a call that would need
  // more fails with RESOURCE_EXHAUSTED.
  int64_t exec_sync_buffer_limit = 256 << 20;
  // Stats: how often the collector samples cpu and walks the writable layers (milliseconds).
  int stats_collect_period_ms = 10000;
  // Checkpoints: restore archives this node did not sign (or that changed since).
  bool restore_unsigned_checkpoints = false;
};

inline constexpr const char* kDefaultConfigPath = "/etc/hanok/hanok.toml";

// Reads a TOML file into `config`. A missing file is fine only when `required` is false.
// Errors name the file, and the key: "/etc/hanok/hanok.toml: registries[0].mirrors: ...".
void load_config_file(const std::string& path, bool required, DaemonConfig& config);
// Checks what flags and the file gave together, and makes relative paths (socket, root, state)
// absolute against the working directory. Throws std::invalid_argument naming the key.
void finish_config(DaemonConfig& config);

}  // namespace hanok::cri
