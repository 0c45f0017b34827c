#include "pod_network.hpp"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>
#include <unistd.h>

#include "captured_run.hpp"
#include "cni_runtime_config.hpp"
#include "isolate/error.hpp"
#include "isolate/files.hpp"
#include "isolate/pinned_namespace.hpp"
#include "isolate/text.hpp"
#include "pod_layout.hpp"

namespace hanok::cri {

using isolate::Error;
using isolate::ErrorKind;
using nlohmann::json;

namespace {

constexpr const char* kInterface = "eth0";

// The plugin dirs, as CNI_PATH and messages show them ("/opt/cni/bin:/usr/lib/cni").
std::string bin_path(const DaemonConfig& config) {
  std::string path;
  for (const auto& dir : config.cni_bin_dirs) path += (path.empty() ? "" : ":") + dir;
  return path;
}
constexpr auto kPluginTimeout = std::chrono::seconds(60);

// What ADD was given and gave, kept on the persistent root (not the state dir, a tmpfs): after a
// node reboot, DEL still finds it and the IPAM plugin releases the pod's address (as libcni's
// cache in /var/lib/cni, which containerd relies on).
std::string cache_dir(const CniContext& cni) {
  return cni.config.root + "/cni-cache";
}
std::string cache_file(const CniContext& cni, const std::string& pod_id) {
  return cache_dir(cni) + "/" + pod_id + ".json";
}
// Where the pod's cache is: on the root, or in the pod dir where earlier hanoks kept it (a pod
// that ran before an upgrade).
std::string cache_file_of(const CniContext& cni, const store::PodRecord& pod) {
  std::string file = cache_file(cni, pod.id());
  std::string old = pod.dir() + "/cni.json";
  return !isolate::path_exists(file) && !pod.dir().empty() && isolate::path_exists(old) ? old
                                                                                        : file;
}

struct PluginCall {
  std::string command;  // ADD, CHECK, DEL
  json config;          // what the plugin reads on stdin
  std::string path;
};

json run_plugin(const CniContext& cni, const PluginCall& call, const store::PodRecord& pod,
                const images::StopToken& stop) {
  const auto& meta = pod.config().metadata();
  std::string netns = pinned_namespace(pod, "net");
  if (!isolate::path_exists(netns)) netns.clear();  // gone (DEL after a reboot): plugins cope
  CaptureRequest request;
  request.argv = {call.path};
  request.env = {"CNI_COMMAND=" + call.command,
                 "CNI_CONTAINERID=" + pod.id(),
                 "CNI_NETNS=" + netns,
                 std::string("CNI_IFNAME=") + kInterface,
                 "CNI_PATH=" + bin_path(cni.config),
                 "CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAMESPACE=" + meta.namespace_() +
                     ";K8S_POD_NAME=" + meta.name() + ";K8S_POD_INFRA_CONTAINER_ID=" + pod.id() +
                     ";K8S_POD_UID=" + meta.uid(),
                 "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"};
  request.input = call.config.dump();
  request.timeout = kPluginTimeout;
  CapturedRun run = run_captured(request, stop);
  std::string type = json_string(call.config, "type");
  if (run.timed_out || run.stopped) {
    throw Error(ErrorKind::Internal, "CNI plugin " + type + " " + call.command +
                                         (run.timed_out ? ": timed out" : ": cancelled"));
  }
  json output = json::parse(run.out, nullptr, false);
  bool ok = WIFEXITED(run.wait_status) && WEXITSTATUS(run.wait_status) == 0;
  if (!ok) {
    std::string message;
    if (output.is_object()) {
      message = json_string(output, "msg");
      std::string details = json_string(output, "details");
      if (!details.empty()) message += ": " + details;
    }
    if (message.empty()) message = std::string(isolate::trim(run.err.empty() ? run.out : run.err));
    throw Error(ErrorKind::Internal, "CNI plugin " + type + " " + call.command + ": " + message);
  }
  return output.is_object() ? output : json::object();
}

PluginCall plugin_call(const CniContext& cni, const std::string& command, const json& plugin,
                       const json& cached_network, const store::PodRecord& pod,
                       const json& prev_result) {
  PluginCall call;
  call.command = command;
  call.config = plugin;
  call.config["name"] = json_string(cached_network, "name");
  call.config["cniVersion"] = json_string(cached_network, "cniVersion");
  json runtime_config =
      cni_runtime_config(plugin.contains("capabilities") ? plugin["capabilities"] : json::object(),
                         pod.config(), cni.pod_cidr);
  if (!runtime_config.empty()) call.config["runtimeConfig"] = runtime_config;
  if (!prev_result.is_null() && !prev_result.empty()) call.config["prevResult"] = prev_result;
  std::string type = json_string(plugin, "type");
  call.path = find_cni_plugin(type, cni.config.cni_bin_dirs);
  if (call.path.empty()) {
    throw Error(ErrorKind::Internal,
                "CNI plugin " + type + " is in none of " + bin_path(cni.config));
  }
  return call;
}

// DEL of every plugin of `network` (newest first), with `result` as prevResult. Returns the
// first error ("" when all went).
std::string delete_all(const CniContext& cni, const json& network, const json& result,
                       const store::PodRecord& pod) {
  std::string first_error;
  const auto& plugins = network.at("plugins");
  for (auto it = plugins.rbegin(); it != plugins.rend(); ++it) {
    try {
      run_plugin(cni, plugin_call(cni, "DEL", *it, network, pod, result), pod, images::StopToken());
    } catch (const std::exception& e) {
      if (first_error.empty()) first_error = e.what();
    }
  }
  return first_error;
}

// Whether a CNI version (of a network config) knows CHECK: 0.4.0 and later.
bool knows_check(const std::string& version) {
  int major = 0;
  int minor = 0;
  if (std::sscanf(version.c_str(), "%d.%d", &major, &minor) != 2) return false;
  return major > 0 || minor >= 4;
}

}  // namespace

NodeNetwork node_network(const DaemonConfig& config) {
  NodeNetwork node;
  CniLoad load = load_cni_network(config.cni_conf_dir);
  if (!load.network) {
    node.problem = load.problem;
    return node;
  }
  for (const auto& plugin : load.network->plugins) {
    std::string type = json_string(plugin, "type");
    if (find_cni_plugin(type, config.cni_bin_dirs).empty()) {
      node.problem = "network " + load.network->name + " (" + load.network->file +
                     ") needs the CNI plugin " + type + ", which is in none of " + bin_path(config);
      return node;
    }
  }
  node.network = std::move(load.network);
  return node;
}

std::vector<std::string> cni_result_ips(const json& result) {
  std::vector<std::string> v4;
  std::vector<std::string> v6;
  auto add = [&](std::string address) {
    address = address.substr(0, address.find('/'));
    if (address.empty()) return;
    (address.find(':') == std::string::npos ? v4 : v6).push_back(address);
  };
  if (auto ips = result.find("ips"); ips != result.end() && ips->is_array()) {
    for (const auto& ip : *ips) {
      if (ip.is_object()) add(json_string(ip, "address"));
    }
  }
  for (const char* key : {"ip4", "ip6"}) {
    if (auto ip = result.find(key); ip != result.end() && ip->is_object())
      add(json_string(*ip, "ip"));
  }
  v4.insert(v4.end(), v6.begin(), v6.end());
  return v4;
}

void attach_pod_network(const CniContext& cni, const CniNetwork& network, store::PodRecord& pod,
                        const images::StopToken& stop) {
  json cached_network = {{"name", network.name},
                         {"cniVersion", network.cni_version},
                         {"disableCheck", network.disable_check},
                         {"plugins", network.plugins},
                         {"file", network.file}};
  // Cached before the first ADD: a crash in the middle still leaves what DEL needs.
  isolate::make_dirs(cache_dir(cni), 0700);
  isolate::write_file_atomic(cache_file(cni, pod.id()), json{{"network", cached_network}}.dump(),
                             0600);
  json result;
  try {
    for (const auto& plugin : network.plugins) {
      result =
          run_plugin(cni, plugin_call(cni, "ADD", plugin, cached_network, pod, result), pod, stop);
    }
  } catch (const std::exception& e) {
    std::string cleanup = delete_all(cni, cached_network, result, pod);
    if (!cleanup.empty())
      spdlog::warn("pod {}: undoing a failed network ADD: {}", pod.id(), cleanup);
    ::unlink(cache_file(cni, pod.id()).c_str());
    throw;
  }
  isolate::write_file_atomic(cache_file(cni, pod.id()),
                             json{{"network", cached_network}, {"result", result}}.dump(), 0600);
  pod.clear_ips();
  for (const auto& ip : cni_result_ips(result)) pod.add_ips(ip);
  spdlog::info("pod {}: network {} attached ({})", pod.id(), network.name,
               pod.ips_size() > 0 ? pod.ips(0) : "no IP");
}

void detach_pod_network(const CniContext& cni, store::PodRecord& pod) {
  std::string file = cache_file_of(cni, pod);
  auto text = isolate::read_file_if_exists(file);
  if (!text) {
    pod.clear_ips();
    return;
  }
  json cache = json::parse(*text, nullptr, false);
  if (!cache.is_object() || !cache.contains("network")) {
    spdlog::warn("pod {}: its CNI cache {} is unreadable; nothing to detach", pod.id(), file);
    ::unlink(file.c_str());
    pod.clear_ips();
    return;
  }
  std::string error = delete_all(cni, cache["network"], cache.value("result", json::object()), pod);
  if (!error.empty()) throw Error(ErrorKind::Internal, "detach the pod's network: " + error);
  ::unlink(file.c_str());
  pod.clear_ips();
  spdlog::info("pod {}: network detached", pod.id());
}

std::string check_pod_network(const CniContext& cni, const store::PodRecord& pod,
                              const images::StopToken& stop) {
  std::string file = cache_file_of(cni, pod);
  auto text = isolate::read_file_if_exists(file);
  if (!text) return "no network attached";
  json cache = json::parse(*text, nullptr, false);
  if (!cache.is_object() || !cache.contains("network") || !cache.contains("result")) {
    return "the CNI cache " + file + " is unreadable";
  }
  const json& network = cache["network"];
  std::string version = json_string(network, "cniVersion");
  if (!knows_check(version)) return "CNI version " + version + " has no CHECK";
  if (network.contains("disableCheck") && network["disableCheck"] == true)
    return "CHECK is disabled in the network config";
  try {
    for (const auto& plugin : network.at("plugins")) {
      run_plugin(cni, plugin_call(cni, "CHECK", plugin, network, pod, cache["result"]), pod, stop);
    }
  } catch (const std::exception& e) {
    return e.what();
  }
  return "ok";
}

std::vector<std::string> cached_pod_networks(const CniContext& cni) {
  std::vector<std::string> ids;
  for (const auto& name : isolate::list_dir(cache_dir(cni))) {
    if (name.size() > 5 && name.ends_with(".json")) ids.push_back(name.substr(0, name.size() - 5));
  }
  return ids;
}

}  // namespace hanok::cri
