// Wall-clock timestamps as the runtime writes them (state files, logs).
#pragma once

#include <string>

namespace hanok::isolate {

// "2026-11-23T11:04:17.669576258Z": RFC 3339, UTC, nanoseconds.
std::string rfc3339_now();

}  // namespace hanok::isolate
