// Linux namespaces: their kinds, clone flags and /proc names; joining one by path.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace hanok::isolate {

enum class NamespaceType { Pid, Network, Mount, Ipc, Uts, User, Cgroup, Time };

inline constexpr NamespaceType kAllNamespaceTypes[] = {
    NamespaceType::Pid, NamespaceType::Network, NamespaceType::Mount,  NamespaceType::Ipc,
    NamespaceType::Uts, NamespaceType::User,    NamespaceType::Cgroup, NamespaceType::Time};

// OCI names: "pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time".
std::optional<NamespaceType> namespace_from_oci_name(std::string_view name);
const char* oci_name(NamespaceType type);
// The file name under /proc/<pid>/ns/: "pid", "net", "mnt", ...
const char* proc_ns_name(NamespaceType type);
unsigned long clone_flag(NamespaceType type);

// Two /proc/<pid>/ns/<name> files name the same namespace (same device and inode).
bool same_namespace(const std::string& a, const std::string& b);

}  // namespace hanok::isolate
