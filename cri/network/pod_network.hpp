// Private to cri/: a pod's network through CNI: ADD of every plugin of the node's network (in
// order, each given the previous one's result) on RunPodSandbox, DEL (in reverse, with the
// result) on StopPodSandbox and RemovePodSandbox. What ADD gave is cached on the persistent root
// (<root>/cni-cache/<pod id>.json), so that DEL works with the config and result of the ADD even
// after a restart, a node reboot (the netns gone: DEL with an empty CNI_NETNS, which IPAM plugins
// take as "release the address") or a config change.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cni_config.hpp"
#include "cri/config.hpp"
#include "images/stop_token.hpp"
#include "store.pb.h"

namespace hanok::cri {

// What the plugins run with: the node's config (where they are) and the pod CIDR the kubelet
// gave (UpdateRuntimeConfig).
struct CniContext {
  const DaemonConfig& config;
  std::string pod_cidr;
};

// Whether pods can get a network: a valid config whose plugins are all installed.
struct NodeNetwork {
  std::optional<CniNetwork> network;  // set when ready
  std::string problem;                // why not
};
NodeNetwork node_network(const DaemonConfig& config);

// Attaches the pod's network namespace to `network`; records its IPs (IPv4 first) in `pod`.
// A failing plugin fails the call with its message, after DEL of what was done.
void attach_pod_network(const CniContext& cni, const CniNetwork& network, store::PodRecord& pod,
                        const images::StopToken& stop);
// Detaches it (nothing to do without a cached ADD); forgets the IPs. Throws when a plugin fails
// (the cache stays: a later call tries again).
void detach_pod_network(const CniContext& cni, store::PodRecord& pod);

// CNI CHECK of every plugin of the pod's cached network (config versions 0.4.0 and later, unless
// the config disables it): "ok", or what failed or why it cannot be checked.
std::string check_pod_network(const CniContext& cni, const store::PodRecord& pod,
                              const images::StopToken& stop);

// The pods with a cached ADD (ids), whether or not a record holds them.
std::vector<std::string> cached_pod_networks(const CniContext& cni);

// The IPs of a CNI result (any version): "ips[].address" (0.3+) or ip4/ip6 (0.1, 0.2), without
// their prefix length, IPv4 ones first.
std::vector<std::string> cni_result_ips(const nlohmann::json& result);

}  // namespace hanok::cri
