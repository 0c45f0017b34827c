// config.json "linux" object -> typed Linux: namespaces, id mappings, devices, sysctl, time
// offsets and the rest. Only types and names are checked here; see spec_validate.cpp.
#include <string>

#include "oci/spec.hpp"
#include "spec_parse_internal.hpp"

namespace hanok::oci::detail {

namespace {

std::vector<Namespace> parse_namespaces(const Node& node) {
  std::vector<Namespace> namespaces;
  for (const Node& item : node.items()) {
    Node type = item.at("type");
    std::string name = type.str();
    auto kind = isolate::namespace_from_oci_name(name);
    if (!kind) type.fail("unknown namespace " + json_quoted(name));
    Namespace ns{*kind, {}};
    if (auto v = item.get("path")) ns.path = v->str();
    namespaces.push_back(std::move(ns));
  }
  return namespaces;
}

std::vector<isolate::DeviceNode> parse_devices(const Node& node) {
  std::vector<isolate::DeviceNode> devices;
  for (const Node& item : node.items()) {
    isolate::DeviceNode dev;
    dev.path = item.at("path").str();
    Node type = item.at("type");
    std::string kind = type.str();
    if (kind != "c" && kind != "b" && kind != "u" && kind != "p") {
      type.fail("unknown device type " + json_quoted(kind) + " (expected c, b, u or p)");
    }
    dev.type = kind[0];
    if (dev.type == 'p') {
      if (auto v = item.get("major")) dev.major = v->integer<int64_t>();
      if (auto v = item.get("minor")) dev.minor = v->integer<int64_t>();
    } else {
      dev.major = item.at("major").integer<int64_t>();
      dev.minor = item.at("minor").integer<int64_t>();
    }
    if (auto v = item.get("fileMode")) dev.file_mode = v->integer<uint32_t>();
    if (auto v = item.get("uid")) dev.uid = v->integer<uint32_t>();
    if (auto v = item.get("gid")) dev.gid = v->integer<uint32_t>();
    devices.push_back(std::move(dev));
  }
  return devices;
}

std::map<std::string, TimeOffset> parse_time_offsets(const Node& node) {
  std::map<std::string, TimeOffset> offsets;
  for (const auto& [clock, value] : node.members()) {
    if (clock != "monotonic" && clock != "boottime") {
      value.fail("unknown clock " + json_quoted(clock) + " (expected monotonic or boottime)");
    }
    TimeOffset offset;
    if (auto v = value.get("secs")) offset.secs = v->integer<int64_t>();
    if (auto v = value.get("nanosecs")) offset.nanosecs = v->integer<uint32_t>();
    offsets.emplace(clock, offset);
  }
  return offsets;
}

}  // namespace

Linux parse_linux(const Node& node) {
  Linux linux;
  if (auto v = node.get("namespaces")) linux.namespaces = parse_namespaces(*v);
  if (auto v = node.get("uidMappings")) linux.uid_mappings = parse_id_mappings(*v);
  if (auto v = node.get("gidMappings")) linux.gid_mappings = parse_id_mappings(*v);
  if (auto v = node.get("devices")) linux.devices = parse_devices(*v);
  if (auto v = node.get("cgroupsPath")) linux.cgroups_path = v->str();
  if (auto v = node.get("resources")) linux.resources = v->json();
  if (auto v = node.get("rootfsPropagation")) linux.rootfs_propagation = v->str();
  if (auto v = node.get("maskedPaths")) linux.masked_paths = v->strings();
  if (auto v = node.get("readonlyPaths")) linux.readonly_paths = v->strings();
  if (auto v = node.get("sysctl")) linux.sysctl = v->string_map();
  if (auto v = node.get("seccomp")) linux.seccomp = parse_seccomp(*v);
  if (auto v = node.get("timeOffsets")) linux.time_offsets = parse_time_offsets(*v);
  if (auto v = node.get("mountLabel")) linux.mount_label = v->str();
  return linux;
}

}  // namespace hanok::oci::detail
