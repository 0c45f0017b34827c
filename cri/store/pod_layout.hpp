// Private to cri/: where a pod's pieces are, as its record places them: the namespaces it pins
// under its dir, and the hostname it has when its config names none.
#pragma once

#include <string>

#include "store.pb.h"

namespace hanok::cri {

// <pod dir>/ns/<name> ("net", "ipc", "uts", "pid").
std::string pinned_namespace(const store::PodRecord& pod, const std::string& name);
// This node's hostname (a pod without one of its own, a host-network pod).
std::string node_hostname();

}  // namespace hanok::cri
