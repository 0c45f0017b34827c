// Private to cri/: pressure stall information of a cgroup v2 directory (cpu.pressure,
// memory.pressure, io.pressure) as the CRI's PsiStats.
#pragma once

#include <string>
#include <string_view>

#include "runtime_v1.pb.h"

namespace hanok::cri {

// Parses a pressure file's text ("some avg10=0.12 avg60=0.05 avg300=0.01 total=12345" and a
// "full" line; total in microseconds) into `out` (Total in nanoseconds, as the CRI has it).
// False when neither line is there.
bool parse_psi(std::string_view text, runtime::v1::PsiStats& out);

// Reads `dir`/<resource>.pressure; false when the kernel has no PSI there (a v1 cgroup, PSI
// off) or the file is unreadable.
bool read_psi(const std::string& dir, const char* resource, runtime::v1::PsiStats& out);

}  // namespace hanok::cri
