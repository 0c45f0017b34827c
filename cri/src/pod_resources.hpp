// Private to cri/: what a pod is made of on the node, besides its record: the namespaces it owns
// (pinned under <pod dir>/ns by `hanok-monitor pod`), its PID 1 when it has a pod-wide PID
// namespace, the files its containers mount (hostname, hosts, resolv.conf), its /dev/shm tmpfs,
// and the cgroup its containers' cgroups go under.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "runtime_core.hpp"

namespace hanok::cri {

enum class SysctlScope { Net, Ipc, Uts, None };
// Which namespace a sysctl belongs to (net.*, kernel.shm*/msg*/sem, fs.mqueue.*, kernel.hostname,
// kernel.domainname); None for one that would change the whole node.
SysctlScope sysctl_scope(const std::string& name);

// <pod dir>/ns/<name> ("net", "ipc", "uts", "pid").
std::string pinned_namespace(const store::PodRecord& pod, const std::string& name);

// Creates and pins the namespaces the pod owns (its record's config decides which), with its
// hostname and sysctls; records them (pinned, init_pid) in `pod`. Undoes everything on error.
void set_up_pod_namespaces(RuntimeCore& core, store::PodRecord& pod);
// Every namespace the record says is pinned still is.
bool pod_namespaces_intact(RuntimeCore& core, const store::PodRecord& pod);
// Ends the pod's init and unpins its namespaces (they end with their last container).
void release_pod_namespaces(RuntimeCore& core, store::PodRecord& pod);

// hostname, hosts and resolv.conf in the pod dir; a tmpfs for /dev/shm unless the pod uses the
// host's IPC namespace.
void write_pod_files(RuntimeCore& core, store::PodRecord& pod);
void unmount_pod_shm(store::PodRecord& pod);

// The parent of the pod's containers' cgroups: created when missing (and then removed with the
// pod).
void set_up_pod_cgroup(RuntimeCore& core, store::PodRecord& pod);

// Everything above, undone, and the pod dir removed. Errors are logged, never thrown: a removal
// goes as far as it can.
void remove_pod_resources(RuntimeCore& core, store::PodRecord pod);

}  // namespace hanok::cri
