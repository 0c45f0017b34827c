// Random bytes from the kernel (getrandom), as text: names nobody can guess (ids, tokens,
// temporary files).
#pragma once

#include <cstddef>
#include <string>

namespace hanok::isolate {

// `bytes` random bytes as lowercase hex (2 * bytes digits). Throws Error when getrandom fails.
std::string random_hex(size_t bytes);

}  // namespace hanok::isolate
