// Private to cri/: what a pod is made of on the node, besides its record: the namespaces it owns
// (pinned under <pod dir>/ns by `hanok-monitor pod`), its PID 1 when it has a pod-wide PID
// namespace, the files its containers mount (hostname, hosts, resolv.conf), its /dev/shm tmpfs,
// and the cgroup its containers' cgroups go under.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "images/stop_token.hpp"
#include "pod_layout.hpp"
#include "runtime_core.hpp"

namespace hanok::cri {

enum class SysctlScope { Net, Ipc, Uts, None };
// Which namespace a sysctl belongs to (net.*, kernel.shm*/msg*/sem, fs.mqueue.*, kernel.hostname,
// kernel.domainname); None for one that would change the whole node.
SysctlScope sysctl_scope(const std::string& name);

// Creates and pins the namespaces the pod owns (its record's config decides which), with its
// hostname and sysctls; records them (pinned, init_pid) in `pod`. Undoes everything on error.
void set_up_pod_namespaces(RuntimeCore& core, store::PodRecord& pod, const images::StopToken& stop);
// Every namespace the record says is pinned still is.
bool pod_namespaces_intact(RuntimeCore& core, const store::PodRecord& pod);
// Ends the pod's init and unpins its namespaces (they end with their last container).
void release_pod_namespaces(RuntimeCore& core, store::PodRecord& pod);

// The pod's /etc/hosts: the host's for a host-network pod, else localhost and the pod's IPs
// with its hostname (written again once the network gave the IPs).
void write_pod_hosts(const store::PodRecord& pod);

// hostname, hosts and resolv.conf in the pod dir; a tmpfs for /dev/shm unless the pod uses the
// host's IPC namespace.
void write_pod_files(RuntimeCore& core, store::PodRecord& pod);
void unmount_pod_shm(store::PodRecord& pod);

// A cgroup parent named like a systemd slice ("kubepods-burstable-pod1.slice", as a path's last
// part too): its containers get "slice:hanok:<id>" names, as containerd decides by the name.
bool is_systemd_slice(const std::string& cgroup_parent);

struct CgroupPlacement {
  std::string cgroups_path;  // linux.cgroupsPath
  std::string path;          // below the hierarchy root
  bool systemd = false;      // cgroups_path is slice:prefix:name
};
// Where container `id` of the pod has its cgroup: "<slice>:hanok:<id>" or "<parent>/<id>".
CgroupPlacement container_cgroup(const store::PodRecord& pod, const std::string& id);

// The parent of the pod's containers' cgroups: created when missing (and then removed with the
// pod).
void set_up_pod_cgroup(RuntimeCore& core, store::PodRecord& pod);

// Everything above, undone, and the pod dir removed. Errors are logged, never thrown: a removal
// goes as far as it can.
void remove_pod_resources(RuntimeCore& core, store::PodRecord pod);

}  // namespace hanok::cri
