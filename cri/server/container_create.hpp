// Private to cri/: making a container, for CreateContainer and RestorePod.
#pragma once

#include <string>

#include "images/stop_token.hpp"
#include "runtime_core.hpp"

namespace hanok::cri {

// Creates a container in the pod from `config` (validated here, INVALID_ARGUMENT naming the
// field), records it CREATED, publishes its event; returns its id. With `checkpoint_archive`,
// the container is one RestorePod makes: the archive is unpacked into its bundle, its writable
// layer starts as the checkpoint's rootfs diff, and no process is made: StartContainer restores
// it. Undoes everything on failure.
std::string create_container(RuntimeCore& core, const images::StopToken& stop,
                             const std::string& pod_sandbox_id,
                             const runtime::v1::ContainerConfig& config,
                             const std::string& checkpoint_archive = {});

}  // namespace hanok::cri
