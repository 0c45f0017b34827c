// config.json text -> typed Spec: the top level, process, root, mounts and hooks.
// Only types and names are checked here; value rules live in spec_validate.cpp.
#include <string>

#include "oci/spec.hpp"
#include "spec_parse_internal.hpp"

namespace hanok::oci {

using detail::Node;

namespace detail {

std::vector<isolate::IdMapping> parse_id_mappings(const Node& node) {
  std::vector<isolate::IdMapping> mappings;
  for (const Node& item : node.items()) {
    isolate::IdMapping m;
    m.container_id = item.at("containerID").integer<uint32_t>();
    m.host_id = item.at("hostID").integer<uint32_t>();
    m.size = item.at("size").integer<uint32_t>();
    mappings.push_back(m);
  }
  return mappings;
}

}  // namespace detail

namespace {

Root parse_root(const Node& node) {
  Root root;
  root.path = node.at("path").str();
  if (auto v = node.get("readonly")) root.readonly = v->boolean();
  return root;
}

User parse_user(const Node& node) {
  User user;
  user.uid = node.at("uid").integer<uint32_t>();
  user.gid = node.at("gid").integer<uint32_t>();
  if (auto v = node.get("umask")) user.umask = v->integer<uint32_t>();
  if (auto v = node.get("additionalGids")) {
    for (const Node& gid : v->items()) user.additional_gids.push_back(gid.integer<uint32_t>());
  }
  return user;
}

std::vector<int> parse_capability_set(const Node& node) {
  std::vector<int> caps;
  for (const Node& item : node.items()) {
    std::string name = item.str();
    auto cap = isolate::capability_from_name(name);
    if (!cap) item.fail("unknown capability " + detail::json_quoted(name));
    caps.push_back(*cap);
  }
  return caps;
}

isolate::CapabilitySets parse_capabilities(const Node& node) {
  isolate::CapabilitySets sets;
  if (auto v = node.get("bounding")) sets.bounding = parse_capability_set(*v);
  if (auto v = node.get("effective")) sets.effective = parse_capability_set(*v);
  if (auto v = node.get("permitted")) sets.permitted = parse_capability_set(*v);
  if (auto v = node.get("inheritable")) sets.inheritable = parse_capability_set(*v);
  if (auto v = node.get("ambient")) sets.ambient = parse_capability_set(*v);
  return sets;
}

std::vector<isolate::Rlimit> parse_rlimits(const Node& node) {
  std::vector<isolate::Rlimit> limits;
  std::vector<std::string> seen;
  for (const Node& item : node.items()) {
    Node type = item.at("type");
    std::string name = type.str();
    auto resource = isolate::rlimit_from_name(name);
    if (!resource) type.fail("unknown rlimit " + detail::json_quoted(name));
    for (const auto& earlier : seen) {
      if (earlier == name) type.fail("duplicate rlimit " + detail::json_quoted(name));
    }
    seen.push_back(name);
    isolate::Rlimit limit;
    limit.resource = *resource;
    limit.soft = item.at("soft").integer<uint64_t>();
    limit.hard = item.at("hard").integer<uint64_t>();
    limits.push_back(limit);
  }
  return limits;
}

Process parse_process(const Node& node) {
  Process p;
  if (auto v = node.get("terminal")) p.terminal = v->boolean();
  if (auto v = node.get("consoleSize")) {
    ConsoleSize size;
    size.height = v->at("height").integer<unsigned>();
    size.width = v->at("width").integer<unsigned>();
    p.console_size = size;
  }
  p.user = parse_user(node.at("user"));
  if (auto v = node.get("args")) p.args = v->strings();
  if (auto v = node.get("env")) p.env = v->strings();
  p.cwd = node.at("cwd").str();
  if (auto v = node.get("capabilities")) p.capabilities = parse_capabilities(*v);
  if (auto v = node.get("rlimits")) p.rlimits = parse_rlimits(*v);
  if (auto v = node.get("noNewPrivileges")) p.no_new_privileges = v->boolean();
  if (auto v = node.get("oomScoreAdj")) p.oom_score_adj = v->integer<int>();
  if (auto v = node.get("apparmorProfile")) p.apparmor_profile = v->str();
  if (auto v = node.get("selinuxLabel")) p.selinux_label = v->str();
  return p;
}

Mount parse_mount(const Node& node) {
  Mount m;
  m.destination = node.at("destination").str();
  if (auto v = node.get("type")) m.type = v->str();
  if (auto v = node.get("source")) m.source = v->str();
  if (auto v = node.get("options")) m.options = v->strings();
  m.parsed = isolate::parse_mount_options(m.options);
  if (auto v = node.get("uidMappings")) m.uid_mappings = detail::parse_id_mappings(*v);
  if (auto v = node.get("gidMappings")) m.gid_mappings = detail::parse_id_mappings(*v);
  return m;
}

std::vector<Hook> parse_hook_list(const Node& node) {
  std::vector<Hook> hooks;
  for (const Node& item : node.items()) {
    Hook hook;
    hook.path = item.at("path").str();
    if (auto v = item.get("args")) hook.args = v->strings();
    if (auto v = item.get("env")) hook.env = v->strings();
    if (auto v = item.get("timeout")) hook.timeout = v->integer<int>();
    hooks.push_back(std::move(hook));
  }
  return hooks;
}

Hooks parse_hooks(const Node& node) {
  Hooks hooks;
  if (auto v = node.get("prestart")) hooks.prestart = parse_hook_list(*v);
  if (auto v = node.get("createRuntime")) hooks.create_runtime = parse_hook_list(*v);
  if (auto v = node.get("createContainer")) hooks.create_container = parse_hook_list(*v);
  if (auto v = node.get("startContainer")) hooks.start_container = parse_hook_list(*v);
  if (auto v = node.get("poststart")) hooks.poststart = parse_hook_list(*v);
  if (auto v = node.get("poststop")) hooks.poststop = parse_hook_list(*v);
  return hooks;
}

Spec parse_document(const nlohmann::json& document) {
  Node top(document, "");
  Spec spec;
  spec.oci_version = top.at("ociVersion").str();
  spec.root = parse_root(top.at("root"));
  if (auto v = top.get("process")) spec.process = parse_process(*v);
  if (auto v = top.get("hostname")) spec.hostname = v->str();
  if (auto v = top.get("domainname")) spec.domainname = v->str();
  if (auto v = top.get("mounts")) {
    for (const Node& item : v->items()) spec.mounts.push_back(parse_mount(item));
  }
  if (auto v = top.get("hooks")) spec.hooks = parse_hooks(*v);
  if (auto v = top.get("annotations")) spec.annotations = v->string_map();
  if (auto v = top.get("linux")) spec.linux = detail::parse_linux(*v);
  return spec;
}

// nlohmann's what() starts with "[json.exception.parse_error.101] "; the rest is the useful part.
std::string parse_error_text(const nlohmann::json::parse_error& e) {
  std::string text = e.what();
  if (text.starts_with("[json.exception.")) {
    auto end = text.find("] ");
    if (end != std::string::npos) text.erase(0, end + 2);
  }
  return text;
}

}  // namespace

Spec parse_spec(const std::string& json_text) {
  nlohmann::json document;
  try {
    document = nlohmann::json::parse(json_text);
  } catch (const nlohmann::json::parse_error& e) {
    throw SpecError("config.json: " + parse_error_text(e));
  }
  Spec spec = parse_document(document);
  validate_spec(spec);
  return spec;
}

}  // namespace hanok::oci
