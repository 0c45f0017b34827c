// hanokd: the CRI daemon. Flags, config file, wiring; the work is in cri/.
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>

#include "cri/config.hpp"
#include "cri/daemon.hpp"

int main(int argc, char** argv) {
  CLI::App app{"hanokd: the hanok CRI daemon", "hanokd"};
  app.set_version_flag("-v,--version",
                       std::string("hanokd version ") + HANOK_VERSION + "\nCRI API: v1");
  std::string config_path;
  hanok::cri::DaemonConfig flags;
  std::string socket, root, state, log_level, cgroup_driver, cni_conf_dir, cni_bin_dir, streaming;
  app.add_option("--config", config_path, "config file (default /etc/hanok/hanok.toml)");
  app.add_option("--socket", socket, "CRI socket");
  app.add_option("--root", root, "persistent data (images, metadata)");
  app.add_option("--state", state, "runtime state (per-container dirs)");
  app.add_option("--log-level", log_level, "debug, info, warning, error")
      ->check(CLI::IsMember({"debug", "info", "warning", "error"}));
  app.add_option("--cgroup-driver", cgroup_driver, "systemd or cgroupfs")
      ->check(CLI::IsMember({"systemd", "cgroupfs"}));
  app.add_option("--cni-conf-dir", cni_conf_dir, "CNI network configs");
  app.add_option("--cni-bin-dir", cni_bin_dir, "CNI plugin dirs, colon separated");
  app.add_option("--streaming-address", streaming, "HOST:PORT of the streaming server");
  CLI11_PARSE(app, argc, argv);

  // Logs go to stderr (journald or the supervisor's file adds nothing to the timestamps).
  auto logger = spdlog::stderr_logger_mt("hanokd");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%f%z %l %v");
  spdlog::set_default_logger(logger);
  spdlog::flush_on(spdlog::level::info);

  hanok::cri::DaemonConfig config;
  try {
    hanok::cri::load_config_file(config_path.empty() ? hanok::cri::kDefaultConfigPath : config_path,
                                 !config_path.empty(), config);
  } catch (const std::exception& e) {
    spdlog::critical("{}", e.what());
    return 1;
  }
  if (!socket.empty()) config.socket = socket;
  if (!root.empty()) config.root = root;
  if (!state.empty()) config.state = state;
  if (!log_level.empty()) config.log_level = log_level;
  if (!cgroup_driver.empty()) config.cgroup_driver = cgroup_driver;
  if (!cni_conf_dir.empty()) config.cni_conf_dir = cni_conf_dir;
  if (!cni_bin_dir.empty()) {
    config.cni_bin_dirs.clear();
    for (size_t start = 0; start <= cni_bin_dir.size();) {
      size_t end = cni_bin_dir.find(':', start);
      if (end == std::string::npos) end = cni_bin_dir.size();
      if (end > start) config.cni_bin_dirs.push_back(cni_bin_dir.substr(start, end - start));
      start = end + 1;
    }
  }
  if (!streaming.empty()) config.streaming_address = streaming;
  spdlog::level::level_enum level = spdlog::level::from_str(config.log_level);
  if (config.log_level == "warning") level = spdlog::level::warn;
  if (level == spdlog::level::off && config.log_level != "off") {
    spdlog::critical("log_level: \"{}\" is not debug, info, warning or error", config.log_level);
    return 1;
  }
  spdlog::set_level(level);
  try {
    hanok::cri::finish_config(config);
    hanok::cri::serve(config);
    return 0;
  } catch (const std::exception& e) {
    spdlog::critical("{}", e.what());
    return 1;
  }
}
