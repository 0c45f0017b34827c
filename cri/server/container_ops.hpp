// Private to cri/: the container steps more than one RPC takes (StopContainer, RemoveContainer,
// StopPodSandbox and RemovePodSandbox all stop and remove containers).
#pragma once

#include <string>

#include "images/stop_token.hpp"
#include "runtime_core.hpp"

namespace hanok::cri {

// Stops a running container: its stop signal, up to `timeout_s` seconds, then SIGKILL to every
// process in its cgroup; returns once its exit is recorded. A container that is not running is
// left as it is. Throws images::Stopped when `stop` ends the wait first.
void stop_container(RuntimeCore& core, const std::string& id, int64_t timeout_s,
                    const images::StopToken& stop);

// Removes a container whatever its state (a running one is killed first): its runtime state,
// rootfs, lease, bundle, record and name. A container already gone is fine.
void remove_container(RuntimeCore& core, const std::string& id, const images::StopToken& stop);

}  // namespace hanok::cri
