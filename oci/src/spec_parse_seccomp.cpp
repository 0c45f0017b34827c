// config.json "linux.seccomp" -> isolate::SeccompProfile. Action and operator names are
// resolved here; architectures, flags and rule shapes are checked in spec_validate.cpp.
#include <string>

#include "oci/spec.hpp"
#include "spec_parse_internal.hpp"

namespace hanok::oci::detail {

namespace {

isolate::SeccompAction parse_action(const Node& node) {
  std::string name = node.str();
  auto action = isolate::seccomp_action_from_name(name);
  if (!action) node.fail("unknown action " + json_quoted(name));
  return *action;
}

isolate::SeccompArg parse_arg(const Node& node) {
  isolate::SeccompArg arg;
  arg.index = node.at("index").integer<unsigned>();
  arg.value = node.at("value").integer<uint64_t>();
  if (auto v = node.get("valueTwo")) arg.value_two = v->integer<uint64_t>();
  Node op = node.at("op");
  std::string name = op.str();
  auto parsed = isolate::seccomp_operator_from_name(name);
  if (!parsed) op.fail("unknown operator " + json_quoted(name));
  arg.op = *parsed;
  return arg;
}

isolate::SeccompRule parse_rule(const Node& node) {
  isolate::SeccompRule rule;
  rule.names = node.at("names").strings();
  rule.action = parse_action(node.at("action"));
  if (auto v = node.get("errnoRet")) rule.errno_ret = v->integer<uint32_t>();
  if (auto v = node.get("args")) {
    for (const Node& item : v->items()) rule.args.push_back(parse_arg(item));
  }
  return rule;
}

}  // namespace

isolate::SeccompProfile parse_seccomp(const Node& node) {
  isolate::SeccompProfile profile;
  profile.default_action = parse_action(node.at("defaultAction"));
  if (auto v = node.get("defaultErrnoRet")) profile.default_errno_ret = v->integer<uint32_t>();
  if (auto v = node.get("architectures")) profile.architectures = v->strings();
  if (auto v = node.get("flags")) profile.flags = v->strings();
  if (auto v = node.get("listenerPath")) (void)v->str();      // type-checked only: no notify
  if (auto v = node.get("listenerMetadata")) (void)v->str();  // support yet
  if (auto v = node.get("syscalls")) {
    for (const Node& item : v->items()) profile.syscalls.push_back(parse_rule(item));
  }
  return profile;
}

}  // namespace hanok::oci::detail
