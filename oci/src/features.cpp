#include "oci/features.hpp"

#include "isolate/capabilities.hpp"
#include "isolate/namespaces.hpp"
#include "isolate/seccomp.hpp"

namespace hanok::oci {

nlohmann::json features_json() {
  nlohmann::json namespaces = nlohmann::json::array();
  for (auto type : isolate::kAllNamespaceTypes) namespaces.push_back(isolate::oci_name(type));
  return {
      {"ociVersionMin", "1.0.0"},
      {"ociVersionMax", "1.2.0"},
      {"hooks",
       {"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"}},
      {"mountOptions",
       {"async",      "atime",         "bind",    "defaults", "dev",         "diratime", "dirsync",
        "exec",       "mand",          "noatime", "nodev",    "nodiratime",  "noexec",   "nomand",
        "norelatime", "nostrictatime", "nosuid",  "private",  "rbind",       "relatime", "remount",
        "ro",         "rprivate",      "rshared", "rslave",   "runbindable", "rw",       "shared",
        "slave",      "strictatime",   "suid",    "sync",     "unbindable"}},
      {"linux",
       {{"namespaces", namespaces},
        {"capabilities", isolate::known_capability_names()},
        {"cgroup",
         {{"v1", true}, {"v2", true}, {"systemd", true}, {"systemdUser", false}, {"rdma", false}}},
        {"seccomp",
         {{"enabled", true},
          {"actions", isolate::seccomp_action_names()},
          {"operators", isolate::seccomp_operator_names()},
          {"archs", isolate::seccomp_arch_names()},
          {"knownFlags", isolate::seccomp_flag_names()},
          {"supportedFlags", isolate::seccomp_flag_names()}}},
        {"apparmor", {{"enabled", false}}},
        {"selinux", {{"enabled", false}}},
        {"intelRdt", {{"enabled", false}}},
        {"mountExtensions", {{"idmap", {{"enabled", false}}}}}}},
      {"annotations", {{"io.github.hanok.version", HANOK_VERSION}}}};
}

}  // namespace hanok::oci
