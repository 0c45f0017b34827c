// Private to oci/: running Debian's `criu` for checkpoint and restore, and the files hanok keeps
// next to CRIU's images so that a restore can give the process back what it had outside its
// own tree (its stdio, its bind mounts, its network namespace).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "isolate/cgroup.hpp"
#include "isolate/namespaces.hpp"

namespace hanok::oci::criu {

// The namespaces joined by path that CRIU takes as external (dumped as such, given back by an
// fd on restore), with their keys (runc's): the pod's network and PID namespaces.
inline constexpr std::pair<isolate::NamespaceType, const char*> kExternalNamespaces[] = {
    {isolate::NamespaceType::Network, "extRootNetNS"},
    {isolate::NamespaceType::Pid, "extRootPidNS"},
};
// Joined by path, these CRIU cannot take as external (3.17): criu runs in them instead, for the
// dump (so it sees them as its own and does not dump them) and for the restore (so the restored
// process inherits the new pod's): a container of a restored pod shares its pod's IPC and
// hostname as before.
inline constexpr isolate::NamespaceType kInheritedNamespaces[] = {isolate::NamespaceType::Ipc,
                                                                  isolate::NamespaceType::Uts};
// In the images directory: the init's fds 0-2 as /proc/<pid>/fd named them, and the external
// mounts (their mount points inside the container) the dump declared.
inline constexpr const char* kDescriptorsFile = "descriptors.json";
inline constexpr const char* kExternalMountsFile = "hanok-external-mounts.json";

// The criu binary: $HANOK_CRIU, else the first of /usr/sbin, /usr/local/sbin, /sbin, /usr/bin.
// Throws Error(Invalid) naming the package when there is none.
std::string binary();

// Runs criu with `args` from a child of this process (which must be single-threaded: the `hanok`
// CLI); `pass_fds` reach it as 3, 4, ... in this order, its stdio is /dev/null, and it dies with
// this process (PR_SET_PDEATHSIG). With `cgroup` or `namespaces` (paths), criu runs in that
// cgroup and those namespaces (this process never joins them). Its log is `log_path`; a failure
// throws Error(Internal) with `what` and CRIU's last error lines.
void run(const std::vector<std::string>& args, const std::vector<int>& pass_fds,
         const std::string& log_path, const std::string& what,
         isolate::cgroup::Cgroup* cgroup = nullptr,
         const std::vector<std::string>& namespaces = {});

// The last "Error (...)" lines of a CRIU log (at most three), joined by "; ".
std::string last_errors(const std::string& log_text);

}  // namespace hanok::oci::criu
