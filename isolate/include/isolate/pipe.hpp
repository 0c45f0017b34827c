// Pipes and non-blocking fds, as the monitor, the daemon's helpers and its streaming sessions
// use them.
#pragma once

#include <string_view>

#include "isolate/unique_fd.hpp"

namespace hanok::isolate {

struct Pipe {
  UniqueFd read;
  UniqueFd write;
};
// A close-on-exec pipe; errors name `what` it is for.
Pipe make_pipe(std::string_view what);

// Sets O_NONBLOCK on `fd` (its open file description: every duplicate shares it).
void set_nonblocking(int fd);

}  // namespace hanok::isolate
