// Private to cri/: the CNI "runtimeConfig" a plugin receives for a pod, from the capabilities
// it declares (CNI conventions: portMappings, dns, bandwidth, ipRanges), filled from the pod's
// config, its bandwidth annotations and the node's pod CIDR, as the kubelet's runtimes do.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "runtime_v1.pb.h"

namespace hanok::cri {

// A pod's traffic shaping in bits per second (0: none), from the annotations
// "kubernetes.io/ingress-bandwidth" and "kubernetes.io/egress-bandwidth" (Kubernetes
// quantities: "10M", "1Gi", "500k"). Throws Invalid naming the annotation for a value that is not
// a quantity, or outside 1 kbit/s .. 1 Pbit/s (the kubelet's bounds).
struct PodBandwidth {
  uint64_t ingress_bps = 0;
  uint64_t egress_bps = 0;
};
PodBandwidth pod_bandwidth(const runtime::v1::PodSandboxConfig& config);

// A Kubernetes resource quantity as an integer (rounded up): "10M" 10000000, "1Ki" 1024, "1.5k"
// 1500, "100m" 1. Throws std::invalid_argument when `text` is not one.
uint64_t parse_quantity(const std::string& text);

// The runtimeConfig object for a plugin whose "capabilities" object is `capabilities`: only
// the arguments it asks for, and only those the pod has.
nlohmann::json cni_runtime_config(const nlohmann::json& capabilities,
                                  const runtime::v1::PodSandboxConfig& config,
                                  const std::string& pod_cidr);

}  // namespace hanok::cri
