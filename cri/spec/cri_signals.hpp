// Private to cri/: the CRI's Signal enum (a container's stop_signal) and signal numbers, both
// ways, the real-time ones (SIGRTMIN+n, SIGRTMAX-n) and the aliases (SIGCLD, SIGPOLL, SIGIOT)
// included.
#pragma once

#include <optional>

#include "runtime_v1.pb.h"

namespace hanok::cri {

// The number of a CRI signal; nullopt for SIGNAL_RUNTIME_DEFAULT and any value it does not know.
std::optional<int> signal_number(runtime::v1::Signal signal);
// The CRI's name of a number (its first, canonical one); SIGNAL_RUNTIME_DEFAULT when it has none.
runtime::v1::Signal cri_signal(int number);

}  // namespace hanok::cri
