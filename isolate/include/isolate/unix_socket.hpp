// Unix sockets by path: listening and connecting, for any socket type. Paths longer than a
// sockaddr_un holds fail with ENAMETOOLONG (reach a long directory through /proc/self/fd/N).
#pragma once

#include <sys/socket.h>

#include <string>

#include "isolate/unique_fd.hpp"

namespace hanok::isolate {

// A close-on-exec socket of `type` (SOCK_STREAM, SOCK_SEQPACKET) bound to `path` and listening.
UniqueFd listen_unix(const std::string& path, int type, int backlog);
// A close-on-exec socket of `type` connected to `path`. Errors name `what` and the path.
UniqueFd connect_unix(const std::string& path, int type = SOCK_STREAM,
                      const std::string& what = "connect to");

}  // namespace hanok::isolate
