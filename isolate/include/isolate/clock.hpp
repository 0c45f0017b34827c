// Wall-clock timestamps as the runtime writes them (state files, logs).
#pragma once

#include <cstdint>
#include <string>

namespace hanok::isolate {

// Now, in nanoseconds since the epoch (CLOCK_REALTIME).
int64_t unix_now_ns();
// "2026-11-23T11:04:17.669576258Z": RFC 3339, UTC, nanoseconds.
std::string rfc3339_now();
// The same for a time in nanoseconds since the epoch.
std::string rfc3339_of(int64_t unix_ns);

}  // namespace hanok::isolate
