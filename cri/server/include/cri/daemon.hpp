// hanokd: the CRI services on a root-only unix socket, until SIGTERM or SIGINT.
#pragma once

#include "cri/config.hpp"

namespace hanok::cri {

// Serves until SIGTERM/SIGINT. Throws when it cannot start (socket in use, root unusable).
void serve(const DaemonConfig& config);

}  // namespace hanok::cri
