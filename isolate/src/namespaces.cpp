// Linux namespace kinds: OCI names, /proc/<pid>/ns names and clone flags.
#include "isolate/namespaces.hpp"

#include <sys/stat.h>

#include <sched.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif

namespace hanok::isolate {

namespace {

struct NamespaceInfo {
  NamespaceType type;
  const char* oci;
  const char* proc;
  unsigned long flag;
};

constexpr NamespaceInfo kNamespaces[] = {
    {NamespaceType::Pid, "pid", "pid", CLONE_NEWPID},
    {NamespaceType::Network, "network", "net", CLONE_NEWNET},
    {NamespaceType::Mount, "mount", "mnt", CLONE_NEWNS},
    {NamespaceType::Ipc, "ipc", "ipc", CLONE_NEWIPC},
    {NamespaceType::Uts, "uts", "uts", CLONE_NEWUTS},
    {NamespaceType::User, "user", "user", CLONE_NEWUSER},
    {NamespaceType::Cgroup, "cgroup", "cgroup", CLONE_NEWCGROUP},
    {NamespaceType::Time, "time", "time", CLONE_NEWTIME},
};

const NamespaceInfo& info(NamespaceType type) {
  for (const auto& ns : kNamespaces) {
    if (ns.type == type) return ns;
  }
  // Every enumerator is in the table; this is unreachable for valid values.
  return kNamespaces[0];
}

}  // namespace

std::optional<NamespaceType> namespace_from_oci_name(std::string_view name) {
  for (const auto& ns : kNamespaces) {
    if (name == ns.oci) return ns.type;
  }
  return std::nullopt;
}

const char* oci_name(NamespaceType type) {
  return info(type).oci;
}

const char* proc_ns_name(NamespaceType type) {
  return info(type).proc;
}

unsigned long clone_flag(NamespaceType type) {
  return info(type).flag;
}

bool same_namespace(const std::string& a, const std::string& b) {
  struct stat sa {
  }, sb{};
  return ::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0 && sa.st_ino == sb.st_ino &&
         sa.st_dev == sb.st_dev;
}

}  // namespace hanok::isolate
