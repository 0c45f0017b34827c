// A pod's namespaces without a pause container: `hanok-monitor pod` unshares the network, IPC
// and UTS namespaces the pod owns, sets its hostname, brings loopback up, writes its sysctls in
// them, and pins each one under the pod's directory (bind mounts of /proc/self/ns/*), where the
// pod's containers join them. With a pod-wide PID namespace it also starts the pod's init: PID 1
// of a new PID namespace, reaping orphans until it is killed (its PID namespace is pinned too).
//
// It reports on the sync fd: "N" once everything is pinned, "P<pid>" for the init (before "N"),
// or "E<error text>" after undoing what it did.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace hanok::cri::monitor {

struct PodSandboxOptions {
  std::string dir;  // the pins go to <dir>/{net,ipc,uts,pid}
  bool net = false;
  bool ipc = false;
  bool uts = false;
  bool pid = false;
  std::string hostname;
  std::vector<std::pair<std::string, std::string>> sysctls;  // "net.ipv4.ip_forward", "1"
  int sync_fd = -1;
};

// --dir, --net, --ipc, --uts, --pid, --hostname, --sysctl key=value, --sync-fd. Throws
// std::invalid_argument naming the flag.
PodSandboxOptions parse_pod_sandbox_flags(const std::vector<std::string>& args);
std::vector<std::string> pod_sandbox_flags(const PodSandboxOptions& options);

// Returns the exit status.
int run_pod_sandbox(const PodSandboxOptions& options);

// PID 1 of a pod's PID namespace (hanok-monitor run as "hanok-pod-init"): gives up the node
// (its own mount namespace on an empty root, no capabilities, nobody) and reaps whatever ends up
// with it until hanokd kills it; no signal from inside the pod ends it.
[[noreturn]] void run_pod_init();

// "/proc/sys/net/ipv4/ip_forward" for "net.ipv4.ip_forward" (or "net/ipv4/ip_forward"). Throws
// std::invalid_argument for a name that could leave /proc/sys.
std::string sysctl_path(const std::string& name);

}  // namespace hanok::cri::monitor
