#include "cni_runtime_config.hpp"

#include <cctype>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <utility>

#include "isolate/error.hpp"

namespace hanok::cri {

using nlohmann::json;

namespace {

constexpr const char* kIngressAnnotation = "kubernetes.io/ingress-bandwidth";
constexpr const char* kEgressAnnotation = "kubernetes.io/egress-bandwidth";
constexpr uint64_t kMinBandwidth = 1000;                 // 1k
constexpr uint64_t kMaxBandwidth = 1000000000000000ULL;  // 1P

long double suffix_factor(const std::string& suffix) {
  static const std::pair<const char*, long double> factors[] = {
      {"", 1.0L},      {"n", 1e-9L},    {"u", 1e-6L},    {"m", 1e-3L},
      {"k", 1e3L},     {"M", 1e6L},     {"G", 1e9L},     {"T", 1e12L},
      {"P", 1e15L},    {"E", 1e18L},    {"Ki", 0x1p10L}, {"Mi", 0x1p20L},
      {"Gi", 0x1p30L}, {"Ti", 0x1p40L}, {"Pi", 0x1p50L}, {"Ei", 0x1p60L}};
  for (const auto& [name, factor] : factors) {
    if (suffix == name) return factor;
  }
  if (suffix.size() >= 2 && (suffix[0] == 'e' || suffix[0] == 'E')) {
    size_t used = 0;
    int exponent = std::stoi(suffix.substr(1), &used);
    if (used + 1 == suffix.size() && exponent >= -18 && exponent <= 18) {
      return std::pow(10.0L, exponent);
    }
  }
  throw std::invalid_argument("unknown suffix \"" + suffix + "\"");
}

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(::tolower(static_cast<unsigned char>(c)));
  return text;
}

uint64_t bandwidth_of(const runtime::v1::PodSandboxConfig& config, const char* annotation) {
  auto it = config.annotations().find(annotation);
  if (it == config.annotations().end()) return 0;
  std::string field = std::string("config.annotations[\"") + annotation + "\"]";
  uint64_t value = 0;
  try {
    value = parse_quantity(it->second);
  } catch (const std::exception& e) {
    throw isolate::Error(isolate::ErrorKind::Invalid,
                         field + ": \"" + it->second + "\" is not a quantity: " + e.what());
  }
  if (value < kMinBandwidth) {
    throw isolate::Error(isolate::ErrorKind::Invalid,
                         field + ": " + it->second + " is unreasonably small (< 1kbit)");
  }
  if (value > kMaxBandwidth) {
    throw isolate::Error(isolate::ErrorKind::Invalid,
                         field + ": " + it->second + " is unreasonably large (> 1Pbit)");
  }
  return value;
}

}  // namespace

uint64_t parse_quantity(const std::string& text) {
  size_t i = 0;
  if (i < text.size() && text[i] == '+') ++i;
  size_t digits_start = i;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
    ++i;
  std::string number = text.substr(digits_start, i - digits_start);
  if (number.empty() || number == "." || number.find('.') != number.rfind('.')) {
    throw std::invalid_argument("no number");
  }
  long double value = std::stold(number) * suffix_factor(text.substr(i));
  if (value > static_cast<long double>(std::numeric_limits<uint64_t>::max())) {
    throw std::invalid_argument("too large");
  }
  return static_cast<uint64_t>(std::ceil(value));
}

PodBandwidth pod_bandwidth(const runtime::v1::PodSandboxConfig& config) {
  return {bandwidth_of(config, kIngressAnnotation), bandwidth_of(config, kEgressAnnotation)};
}

json cni_runtime_config(const json& capabilities, const runtime::v1::PodSandboxConfig& config,
                        const std::string& pod_cidr) {
  auto wants = [&](const char* capability) {
    auto it = capabilities.find(capability);
    return it != capabilities.end() && it->is_boolean() && it->get<bool>();
  };
  json runtime_config = json::object();
  if (wants("portMappings")) {
    json mappings = json::array();
    for (const auto& port : config.port_mappings()) {
      if (port.host_port() <= 0) continue;
      json mapping = {{"hostPort", port.host_port()},
                      {"containerPort", port.container_port()},
                      {"protocol", lower(runtime::v1::Protocol_Name(port.protocol()))}};
      if (!port.host_ip().empty()) mapping["hostIP"] = port.host_ip();
      mappings.push_back(mapping);
    }
    runtime_config["portMappings"] = mappings;
  }
  if (wants("dns")) {
    const auto& dns = config.dns_config();
    runtime_config["dns"] = {
        {"servers", std::vector<std::string>(dns.servers().begin(), dns.servers().end())},
        {"searches", std::vector<std::string>(dns.searches().begin(), dns.searches().end())},
        {"options", std::vector<std::string>(dns.options().begin(), dns.options().end())}};
  }
  if (wants("bandwidth")) {
    PodBandwidth bandwidth = pod_bandwidth(config);
    json shaping = json::object();
    // No burst in the annotations: unlimited, as the kubelet's runtimes pass it.
    constexpr uint64_t kUnlimitedBurst = std::numeric_limits<uint32_t>::max();
    if (bandwidth.ingress_bps > 0) {
      shaping["ingressRate"] = bandwidth.ingress_bps;
      shaping["ingressBurst"] = kUnlimitedBurst;
    }
    if (bandwidth.egress_bps > 0) {
      shaping["egressRate"] = bandwidth.egress_bps;
      shaping["egressBurst"] = kUnlimitedBurst;
    }
    if (!shaping.empty()) runtime_config["bandwidth"] = shaping;
  }
  if (wants("ipRanges") && !pod_cidr.empty()) {
    runtime_config["ipRanges"] = json::array({json::array({{{"subnet", pod_cidr}}})});
  }
  return runtime_config;
}

}  // namespace hanok::cri
