// linux.resources JSON <-> isolate::cgroup::Resources: parsing (type errors name the JSON
// path), the value rules, the inverse, and merging for `hanok update`.
#include <charconv>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "json_path.hpp"
#include "oci/resources.hpp"
#include "oci/spec.hpp"

namespace hanok::oci {

namespace {

namespace cg = isolate::cgroup;
using detail::fail;
using detail::json_quoted;
using detail::Node;
using detail::path_index;
using detail::path_key;
using nlohmann::json;

// runc's "-1" for swappiness: a Go uint64, so -1 arrives as its two's complement.
constexpr uint64_t kSwappinessUnset = std::numeric_limits<uint64_t>::max();

std::string unified_path(const std::string& prefix, const std::string& key) {
  return path_key(prefix, "unified") + "[" + json_quoted(key) + "]";
}

// The zero runc reads as "leave unchanged".
template <typename T>
std::optional<T> nonzero(const Node& node) {
  T value = node.integer<T>();
  if (value == 0) return std::nullopt;
  return value;
}

int64_t device_number(const Node& node) {
  auto value = node.integer<int64_t>();
  if (value < 0) node.fail("must be at least 0");
  return value;
}

// --- parsing ------------------------------------------------------------------------------

std::vector<cg::DeviceRule> parse_device_rules(const Node& node) {
  std::vector<cg::DeviceRule> rules;
  for (const Node& item : node.items()) {
    cg::DeviceRule rule;
    rule.allow = item.at("allow").boolean();
    if (auto v = item.get("type")) {
      std::string type = v->str();
      if (type != "a" && type != "c" && type != "b") {
        v->fail("unknown device type " + json_quoted(type) + " (expected a, c or b)");
      }
      rule.type = type[0];
    }
    if (auto v = item.get("major")) rule.major = device_number(*v);
    if (auto v = item.get("minor")) rule.minor = device_number(*v);
    if (auto v = item.get("access")) rule.access = v->str();
    rules.push_back(std::move(rule));
  }
  return rules;
}

cg::Resources::Memory parse_memory(const Node& node) {
  cg::Resources::Memory memory;
  if (auto v = node.get("limit")) memory.limit = v->integer<int64_t>();
  if (auto v = node.get("reservation")) memory.reservation = v->integer<int64_t>();
  if (auto v = node.get("swap")) memory.swap = nonzero<int64_t>(*v);
  if (auto v = node.get("kernel")) memory.kernel = v->integer<int64_t>();
  if (auto v = node.get("kernelTCP")) memory.kernel_tcp = v->integer<int64_t>();
  if (auto v = node.get("swappiness")) {
    auto swappiness = v->integer<uint64_t>();
    if (swappiness != kSwappinessUnset) memory.swappiness = swappiness;
  }
  if (auto v = node.get("disableOOMKiller")) memory.disable_oom_killer = v->boolean();
  if (auto v = node.get("useHierarchy")) memory.use_hierarchy = v->boolean();
  if (auto v = node.get("checkBeforeUpdate")) memory.check_before_update = v->boolean();
  return memory;
}

cg::Resources::Cpu parse_cpu(const Node& node) {
  cg::Resources::Cpu cpu;
  if (auto v = node.get("shares")) cpu.shares = nonzero<uint64_t>(*v);
  if (auto v = node.get("quota")) cpu.quota = nonzero<int64_t>(*v);
  if (auto v = node.get("burst")) cpu.burst = v->integer<uint64_t>();
  if (auto v = node.get("period")) cpu.period = nonzero<uint64_t>(*v);
  if (auto v = node.get("realtimeRuntime")) cpu.realtime_runtime = v->integer<int64_t>();
  if (auto v = node.get("realtimePeriod")) cpu.realtime_period = nonzero<uint64_t>(*v);
  if (auto v = node.get("cpus")) cpu.cpus = v->str();
  if (auto v = node.get("mems")) cpu.mems = v->str();
  if (auto v = node.get("idle")) cpu.idle = v->integer<int64_t>();
  return cpu;
}

std::vector<cg::WeightDevice> parse_weight_devices(const Node& node) {
  std::vector<cg::WeightDevice> devices;
  for (const Node& item : node.items()) {
    cg::WeightDevice device;
    device.major = device_number(item.at("major"));
    device.minor = device_number(item.at("minor"));
    if (auto v = item.get("weight")) device.weight = v->integer<uint16_t>();
    if (auto v = item.get("leafWeight")) device.leaf_weight = v->integer<uint16_t>();
    devices.push_back(device);
  }
  return devices;
}

std::vector<cg::ThrottleDevice> parse_throttle_devices(const Node& node) {
  std::vector<cg::ThrottleDevice> devices;
  for (const Node& item : node.items()) {
    cg::ThrottleDevice device;
    device.major = device_number(item.at("major"));
    device.minor = device_number(item.at("minor"));
    device.rate = item.at("rate").integer<uint64_t>();
    devices.push_back(device);
  }
  return devices;
}

cg::Resources::BlockIo parse_block_io(const Node& node) {
  cg::Resources::BlockIo io;
  if (auto v = node.get("weight")) io.weight = nonzero<uint16_t>(*v);
  if (auto v = node.get("leafWeight")) io.leaf_weight = nonzero<uint16_t>(*v);
  if (auto v = node.get("weightDevice")) io.weight_devices = parse_weight_devices(*v);
  if (auto v = node.get("throttleReadBpsDevice")) io.throttle_read_bps = parse_throttle_devices(*v);
  if (auto v = node.get("throttleWriteBpsDevice")) {
    io.throttle_write_bps = parse_throttle_devices(*v);
  }
  if (auto v = node.get("throttleReadIOPSDevice")) {
    io.throttle_read_iops = parse_throttle_devices(*v);
  }
  if (auto v = node.get("throttleWriteIOPSDevice")) {
    io.throttle_write_iops = parse_throttle_devices(*v);
  }
  return io;
}

std::vector<cg::HugepageLimit> parse_hugepage_limits(const Node& node) {
  std::vector<cg::HugepageLimit> limits;
  for (const Node& item : node.items()) {
    cg::HugepageLimit limit;
    limit.page_size = item.at("pageSize").str();
    limit.limit = item.at("limit").integer<uint64_t>();
    limits.push_back(std::move(limit));
  }
  return limits;
}

std::map<std::string, std::string> parse_unified(const Node& node, const std::string& prefix) {
  std::map<std::string, std::string> unified;
  for (const auto& [key, value] : node.members()) {
    unified.emplace(key, Node(value.json(), unified_path(prefix, key)).str());
  }
  return unified;
}

// --- validation ---------------------------------------------------------------------------

bool valid_access(const std::string& access) {
  if (access.empty()) return false;
  std::string seen;
  for (char c : access) {
    if ((c != 'r' && c != 'w' && c != 'm') || seen.find(c) != std::string::npos) return false;
    seen += c;
  }
  return true;
}

// "64KB", "2MB", "1GB": digits without a leading zero, then KB, MB or GB.
bool valid_page_size(const std::string& size) {
  if (size.size() < 3 || size[0] < '1' || size[0] > '9') return false;
  std::string unit = size.substr(size.size() - 2);
  if (unit != "KB" && unit != "MB" && unit != "GB") return false;
  for (std::size_t i = 0; i + 2 < size.size(); ++i) {
    if (size[i] < '0' || size[i] > '9') return false;
  }
  return true;
}

bool valid_unified_key(const std::string& key) {
  return !key.empty() && key != "." && key != ".." && key.find('/') == std::string::npos &&
         key.find('\0') == std::string::npos;
}

void check_device_number(int64_t value, const std::string& path, bool wildcard_allowed) {
  if (value < (wildcard_allowed ? -1 : 0)) fail(path, "must be at least 0");
}

void check_weight(const std::optional<uint16_t>& weight, const std::string& path,
                  bool zero_is_unset) {
  if (!weight || (zero_is_unset && *weight == 0)) return;
  if (*weight < 10 || *weight > 1000) fail(path, "must be from 10 to 1000");
}

void check_bytes(const std::optional<int64_t>& value, const std::string& path) {
  if (value && *value < -1) fail(path, "must be -1 (unlimited) or a number of bytes");
}

void validate_devices(const std::vector<cg::DeviceRule>& rules, const std::string& path) {
  for (std::size_t i = 0; i < rules.size(); ++i) {
    const cg::DeviceRule& rule = rules[i];
    std::string item = path_index(path, i);
    if (rule.type != 'a' && rule.type != 'c' && rule.type != 'b') {
      fail(path_key(item, "type"), "unknown device type " + json_quoted(std::string(1, rule.type)) +
                                       " (expected a, c or b)");
    }
    check_device_number(rule.major, path_key(item, "major"), true);
    check_device_number(rule.minor, path_key(item, "minor"), true);
    if (!valid_access(rule.access)) {
      fail(path_key(item, "access"), "invalid access " + json_quoted(rule.access) +
                                         " (expected a combination of r, w and m)");
    }
  }
}

void validate_memory(const cg::Resources::Memory& m, const std::string& path) {
  if (m.limit && (*m.limit == 0 || *m.limit < -1)) {
    fail(path_key(path, "limit"), "must be -1 (unlimited) or a positive number of bytes");
  }
  check_bytes(m.reservation, path_key(path, "reservation"));
  check_bytes(m.swap, path_key(path, "swap"));
  check_bytes(m.kernel, path_key(path, "kernel"));
  check_bytes(m.kernel_tcp, path_key(path, "kernelTCP"));
  if (m.swap && m.limit && *m.swap != -1 && *m.limit != -1 && *m.swap < *m.limit) {
    fail(path_key(path, "swap"), "must be at least memory.limit");
  }
  if (m.swappiness && *m.swappiness > 100)
    fail(path_key(path, "swappiness"), "must be from 0 to 100");
}

void validate_cpu(const cg::Resources::Cpu& c, const std::string& path) {
  if (c.shares && *c.shares != 0 && (*c.shares < 2 || *c.shares > 262144)) {
    fail(path_key(path, "shares"), "must be from 2 to 262144");
  }
  if (c.period && *c.period != 0 && (*c.period < 1000 || *c.period > 1000000)) {
    fail(path_key(path, "period"), "must be from 1000 to 1000000");
  }
  if (c.quota && *c.quota != 0 && *c.quota != -1 && *c.quota < 1000) {
    fail(path_key(path, "quota"), "must be -1 (unlimited) or at least 1000");
  }
  if (c.burst && c.quota && *c.quota > 0 && *c.burst > static_cast<uint64_t>(*c.quota)) {
    fail(path_key(path, "burst"), "must not exceed cpu.quota");
  }
  if (c.realtime_runtime && *c.realtime_runtime < -1) {
    fail(path_key(path, "realtimeRuntime"), "must be -1 (unlimited) or a number of microseconds");
  }
  if (!valid_cpuset_list(c.cpus)) {
    fail(path_key(path, "cpus"), "invalid cpuset list " + json_quoted(c.cpus));
  }
  if (!valid_cpuset_list(c.mems)) {
    fail(path_key(path, "mems"), "invalid cpuset list " + json_quoted(c.mems));
  }
  if (c.idle && *c.idle != 0 && *c.idle != 1) fail(path_key(path, "idle"), "must be 0 or 1");
}

void validate_throttle(const std::vector<cg::ThrottleDevice>& devices, const std::string& path) {
  for (std::size_t i = 0; i < devices.size(); ++i) {
    std::string item = path_index(path, i);
    check_device_number(devices[i].major, path_key(item, "major"), false);
    check_device_number(devices[i].minor, path_key(item, "minor"), false);
  }
}

void validate_block_io(const cg::Resources::BlockIo& io, const std::string& path) {
  check_weight(io.weight, path_key(path, "weight"), true);
  check_weight(io.leaf_weight, path_key(path, "leafWeight"), true);
  std::string devices = path_key(path, "weightDevice");
  for (std::size_t i = 0; i < io.weight_devices.size(); ++i) {
    const cg::WeightDevice& device = io.weight_devices[i];
    std::string item = path_index(devices, i);
    check_device_number(device.major, path_key(item, "major"), false);
    check_device_number(device.minor, path_key(item, "minor"), false);
    if (!device.weight && !device.leaf_weight) fail(item, "must set weight or leafWeight");
    check_weight(device.weight, path_key(item, "weight"), false);
    check_weight(device.leaf_weight, path_key(item, "leafWeight"), false);
  }
  validate_throttle(io.throttle_read_bps, path_key(path, "throttleReadBpsDevice"));
  validate_throttle(io.throttle_write_bps, path_key(path, "throttleWriteBpsDevice"));
  validate_throttle(io.throttle_read_iops, path_key(path, "throttleReadIOPSDevice"));
  validate_throttle(io.throttle_write_iops, path_key(path, "throttleWriteIOPSDevice"));
}

// --- to JSON ------------------------------------------------------------------------------

template <typename T>
void put(json& object, const char* key, const std::optional<T>& value) {
  if (value) object[key] = *value;
}

json throttle_json(const std::vector<cg::ThrottleDevice>& devices) {
  json array = json::array();
  for (const auto& d : devices) {
    array.push_back({{"major", d.major}, {"minor", d.minor}, {"rate", d.rate}});
  }
  return array;
}

json memory_json(const cg::Resources::Memory& m) {
  json j = json::object();
  put(j, "limit", m.limit);
  put(j, "reservation", m.reservation);
  put(j, "swap", m.swap);
  put(j, "kernel", m.kernel);
  put(j, "kernelTCP", m.kernel_tcp);
  put(j, "swappiness", m.swappiness);
  put(j, "disableOOMKiller", m.disable_oom_killer);
  put(j, "useHierarchy", m.use_hierarchy);
  put(j, "checkBeforeUpdate", m.check_before_update);
  return j;
}

json cpu_json(const cg::Resources::Cpu& c) {
  json j = json::object();
  put(j, "shares", c.shares);
  put(j, "quota", c.quota);
  put(j, "burst", c.burst);
  put(j, "period", c.period);
  put(j, "realtimeRuntime", c.realtime_runtime);
  put(j, "realtimePeriod", c.realtime_period);
  if (!c.cpus.empty()) j["cpus"] = c.cpus;
  if (!c.mems.empty()) j["mems"] = c.mems;
  put(j, "idle", c.idle);
  return j;
}

json block_io_json(const cg::Resources::BlockIo& io) {
  json j = json::object();
  put(j, "weight", io.weight);
  put(j, "leafWeight", io.leaf_weight);
  if (!io.weight_devices.empty()) {
    json array = json::array();
    for (const auto& d : io.weight_devices) {
      json entry = {{"major", d.major}, {"minor", d.minor}};
      put(entry, "weight", d.weight);
      put(entry, "leafWeight", d.leaf_weight);
      array.push_back(std::move(entry));
    }
    j["weightDevice"] = std::move(array);
  }
  if (!io.throttle_read_bps.empty())
    j["throttleReadBpsDevice"] = throttle_json(io.throttle_read_bps);
  if (!io.throttle_write_bps.empty()) {
    j["throttleWriteBpsDevice"] = throttle_json(io.throttle_write_bps);
  }
  if (!io.throttle_read_iops.empty()) {
    j["throttleReadIOPSDevice"] = throttle_json(io.throttle_read_iops);
  }
  if (!io.throttle_write_iops.empty()) {
    j["throttleWriteIOPSDevice"] = throttle_json(io.throttle_write_iops);
  }
  return j;
}

// --- merging ------------------------------------------------------------------------------

template <typename T>
T& ensure(std::optional<T>& value) {
  return value ? *value : value.emplace();
}

template <typename T>
void take(std::optional<T>& target, const std::optional<T>& source) {
  if (source) target = source;
}

template <typename T>
void take(T& target, const T& source) {
  if (!source.empty()) target = source;
}

void merge_memory(cg::Resources::Memory& m, const cg::Resources::Memory& u) {
  take(m.limit, u.limit);
  take(m.reservation, u.reservation);
  take(m.swap, u.swap);
  take(m.kernel, u.kernel);
  take(m.kernel_tcp, u.kernel_tcp);
  take(m.swappiness, u.swappiness);
  take(m.disable_oom_killer, u.disable_oom_killer);
  take(m.use_hierarchy, u.use_hierarchy);
  take(m.check_before_update, u.check_before_update);
  // runc update: "memory unlimited" without a swap value means "memory and swap unlimited".
  if (u.limit == -1 && !u.swap) m.swap = -1;
}

void merge_cpu(cg::Resources::Cpu& c, const cg::Resources::Cpu& u) {
  take(c.shares, u.shares);
  take(c.quota, u.quota);
  take(c.burst, u.burst);
  take(c.period, u.period);
  take(c.realtime_runtime, u.realtime_runtime);
  take(c.realtime_period, u.realtime_period);
  take(c.cpus, u.cpus);
  take(c.mems, u.mems);
  take(c.idle, u.idle);
}

void merge_block_io(cg::Resources::BlockIo& io, const cg::Resources::BlockIo& u) {
  take(io.weight, u.weight);
  take(io.leaf_weight, u.leaf_weight);
  take(io.weight_devices, u.weight_devices);
  take(io.throttle_read_bps, u.throttle_read_bps);
  take(io.throttle_write_bps, u.throttle_write_bps);
  take(io.throttle_read_iops, u.throttle_read_iops);
  take(io.throttle_write_iops, u.throttle_write_iops);
}

std::optional<uint64_t> cpuset_number(std::string_view text) {
  uint64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

}  // namespace

bool valid_cpuset_list(std::string_view list) {
  if (list.empty()) return true;
  std::size_t pos = 0;
  while (true) {
    std::size_t comma = list.find(',', pos);
    std::string_view item =
        list.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    std::size_t dash = item.find('-');
    auto first = cpuset_number(item.substr(0, dash));
    if (!first) return false;
    if (dash != std::string_view::npos) {
      auto last = cpuset_number(item.substr(dash + 1));
      if (!last || *last < *first) return false;
    }
    if (comma == std::string_view::npos) return true;
    pos = comma + 1;
  }
}

cg::Resources parse_resources(const json& resources, const std::string& path_prefix) {
  cg::Resources r;
  if (resources.is_null()) return r;
  Node node(resources, path_prefix);
  if (auto v = node.get("devices")) r.devices = parse_device_rules(*v);
  if (auto v = node.get("memory")) r.memory = parse_memory(*v);
  if (auto v = node.get("cpu")) r.cpu = parse_cpu(*v);
  if (auto v = node.get("pids")) {
    if (auto limit = v->get("limit")) r.pids_limit = limit->integer<int64_t>();
  }
  if (auto v = node.get("blockIO")) r.block_io = parse_block_io(*v);
  if (auto v = node.get("hugepageLimits")) r.hugepage_limits = parse_hugepage_limits(*v);
  if (auto v = node.get("unified")) r.unified = parse_unified(*v, path_prefix);
  // "network" (net_cls/net_prio, v1 only) and "rdma" are accepted and not applied, as runc
  // does on cgroup v2; intelRdt lives outside linux.resources.
  validate_resources(r, path_prefix);
  return r;
}

void validate_resources(const cg::Resources& r, const std::string& path_prefix) {
  validate_devices(r.devices, path_key(path_prefix, "devices"));
  if (r.memory) validate_memory(*r.memory, path_key(path_prefix, "memory"));
  if (r.cpu) validate_cpu(*r.cpu, path_key(path_prefix, "cpu"));
  if (r.block_io) validate_block_io(*r.block_io, path_key(path_prefix, "blockIO"));
  std::string hugepages = path_key(path_prefix, "hugepageLimits");
  for (std::size_t i = 0; i < r.hugepage_limits.size(); ++i) {
    const std::string& size = r.hugepage_limits[i].page_size;
    if (!valid_page_size(size)) {
      fail(path_key(path_index(hugepages, i), "pageSize"),
           "invalid page size " + json_quoted(size) + " (expected a size like \"2MB\")");
    }
  }
  for (const auto& [key, value] : r.unified) {
    if (!valid_unified_key(key)) fail(unified_path(path_prefix, key), "invalid cgroup file name");
  }
}

json resources_to_json(const cg::Resources& r) {
  json j = json::object();
  if (!r.devices.empty()) {
    json array = json::array();
    for (const auto& d : r.devices) {
      json entry = {{"allow", d.allow}, {"type", std::string(1, d.type)}};
      if (d.major != -1) entry["major"] = d.major;
      if (d.minor != -1) entry["minor"] = d.minor;
      entry["access"] = d.access;
      array.push_back(std::move(entry));
    }
    j["devices"] = std::move(array);
  }
  if (r.memory) j["memory"] = memory_json(*r.memory);
  if (r.cpu) j["cpu"] = cpu_json(*r.cpu);
  if (r.pids_limit) j["pids"] = {{"limit", *r.pids_limit}};
  if (r.block_io) j["blockIO"] = block_io_json(*r.block_io);
  if (!r.hugepage_limits.empty()) {
    json array = json::array();
    for (const auto& h : r.hugepage_limits) {
      array.push_back({{"pageSize", h.page_size}, {"limit", h.limit}});
    }
    j["hugepageLimits"] = std::move(array);
  }
  if (!r.unified.empty()) j["unified"] = r.unified;
  return j;
}

cg::Resources merge_resources(const cg::Resources& base, const cg::Resources& update) {
  cg::Resources merged = base;
  take(merged.devices, update.devices);
  if (update.memory) merge_memory(ensure(merged.memory), *update.memory);
  if (update.cpu) merge_cpu(ensure(merged.cpu), *update.cpu);
  take(merged.pids_limit, update.pids_limit);
  if (update.block_io) merge_block_io(ensure(merged.block_io), *update.block_io);
  take(merged.hugepage_limits, update.hugepage_limits);
  for (const auto& [key, value] : update.unified) merged.unified[key] = value;
  return merged;
}

}  // namespace hanok::oci
