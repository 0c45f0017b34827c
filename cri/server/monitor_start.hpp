// Private to cri/: starting a container's monitor (`hanok-monitor container`, by posix_spawn)
// and waiting until `hanok create` under it has finished.
#pragma once

#include <sys/types.h>

#include "images/stop_token.hpp"
#include "runtime_core.hpp"

namespace hanok::cri {

struct StartedMonitor {
  pid_t monitor = 0;  // the monitor (not hanokd's child: it double-forked)
  pid_t init = 0;     // the container's init, waiting for start
};

// Throws isolate::Error with the runtime's own message when the create fails, images::Stopped
// when `stop` stops first; a monitor that did not report in time is killed.
StartedMonitor start_monitor(RuntimeCore& core, const store::ContainerRecord& record,
                             const images::StopToken& stop);

}  // namespace hanok::cri
