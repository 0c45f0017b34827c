// Terminals: a pty pair, making it the controlling terminal, and passing fds over unix sockets
// (the console socket protocol runc uses: the pty master travels as SCM_RIGHTS).
#pragma once

#include <string>
#include <string_view>

#include "isolate/unique_fd.hpp"

namespace hanok::isolate {

struct Pty {
  UniqueFd master;
  UniqueFd slave;
  std::string slave_path;
};

// Opens a new pty from `ptmx` (a host path the caller trusts).
Pty open_pty(const std::string& ptmx = "/dev/ptmx");
// Opens a new pty from the ptmx of the root `root_fd`: /dev/pts/ptmx (no symlinks followed), else
// /dev/ptmx resolved inside the root; either must be the character device 5:2, whatever the
// image put there.
Pty open_pty_in_root(int root_fd);
void set_window_size(int tty_fd, unsigned rows, unsigned columns);
// setsid() already done: the tty becomes the controlling terminal and stdin/stdout/stderr.
void attach_controlling_terminal(int slave_fd);

// Sends one fd with SCM_RIGHTS; `name` travels as the message body.
void send_fd(int socket_fd, int fd, std::string_view name);
UniqueFd receive_fd(int socket_fd);

}  // namespace hanok::isolate
