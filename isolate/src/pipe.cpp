#include "isolate/pipe.hpp"

#include <fcntl.h>
#include <unistd.h>

#include "isolate/error.hpp"

namespace hanok::isolate {

Pipe make_pipe(std::string_view what) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw_sys("pipe for", what);
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

void set_nonblocking(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0) ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

}  // namespace hanok::isolate
