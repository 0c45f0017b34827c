#include "isolate/console.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>

#include "isolate/error.hpp"

namespace hanok::isolate {

namespace {
Pty pty_from_master(UniqueFd master, const std::string& ptmx) {
  Pty pty;
  pty.master = std::move(master);
  if (::unlockpt(pty.master.get()) != 0) throw_sys("unlockpt", ptmx);
  char name[64];
  if (::ptsname_r(pty.master.get(), name, sizeof name) != 0) throw_sys("ptsname", ptmx);
  pty.slave_path = name;
  // TIOCGPTPEER opens the peer through the master, never through a path lookup.
  pty.slave.reset(::ioctl(pty.master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!pty.slave) throw_sys("open the pty peer of", ptmx);
  return pty;
}

UniqueFd open_ptmx_in_root(int root_fd, const char* path, uint64_t resolve) {
  open_how how{};
  how.flags = O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | resolve;
  return UniqueFd(static_cast<int>(::syscall(SYS_openat2, root_fd, path, &how, sizeof how)));
}
}  // namespace

Pty open_pty(const std::string& ptmx) {
  UniqueFd master(::open(ptmx.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!master) throw_sys("open", ptmx);
  return pty_from_master(std::move(master), ptmx);
}

Pty open_pty_in_root(int root_fd) {
  // O_NONBLOCK: a FIFO or another device an image put there must not block the open.
  const char* shown = "/dev/pts/ptmx";
  UniqueFd master = open_ptmx_in_root(root_fd, "dev/pts/ptmx", RESOLVE_NO_SYMLINKS);
  if (!master) {
    shown = "/dev/ptmx";
    master = open_ptmx_in_root(root_fd, "dev/ptmx", 0);
  }
  if (!master) throw_sys("open", shown);
  struct stat st {};
  if (::fstat(master.get(), &st) != 0) throw_sys("stat", shown);
  if (!S_ISCHR(st.st_mode) || major(st.st_rdev) != 5 || minor(st.st_rdev) != 2) {
    throw SysError(std::string(shown) + " is not the pty multiplexer (character device 5:2)", "",
                   ENOTTY);
  }
  int flags = ::fcntl(master.get(), F_GETFL);
  if (flags < 0 || ::fcntl(master.get(), F_SETFL, flags & ~O_NONBLOCK) != 0) {
    throw_sys("fcntl", shown);
  }
  return pty_from_master(std::move(master), shown);
}

void set_window_size(int tty_fd, unsigned rows, unsigned columns) {
  winsize size{};
  size.ws_row = static_cast<unsigned short>(rows);
  size.ws_col = static_cast<unsigned short>(columns);
  if (::ioctl(tty_fd, TIOCSWINSZ, &size) != 0) throw_sys("set the terminal size", "");
}

void attach_controlling_terminal(int slave_fd) {
  if (::ioctl(slave_fd, TIOCSCTTY, 0) != 0) throw_sys("make the pty the controlling terminal", "");
  for (int target = 0; target <= 2; ++target) {
    if (::dup3(slave_fd, target, 0) < 0) throw_sys("dup the pty onto stdio", "");
  }
}

void send_fd(int socket_fd, int fd, std::string_view name) {
  msghdr message{};
  iovec body{const_cast<char*>(name.data()), name.size()};
  message.msg_iov = &body;
  message.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  message.msg_control = control;
  message.msg_controllen = sizeof control;
  cmsghdr* header = CMSG_FIRSTHDR(&message);
  header->cmsg_level = SOL_SOCKET;
  header->cmsg_type = SCM_RIGHTS;
  header->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(header), &fd, sizeof fd);
  while (::sendmsg(socket_fd, &message, MSG_NOSIGNAL) < 0) {
    if (errno != EINTR) throw_sys("send the terminal over the console socket", "");
  }
}

UniqueFd receive_fd(int socket_fd) {
  msghdr message{};
  char body[4096];
  iovec io{body, sizeof body};
  message.msg_iov = &io;
  message.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  message.msg_control = control;
  message.msg_controllen = sizeof control;
  ssize_t n;
  do {
    n = ::recvmsg(socket_fd, &message, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) throw_sys("receive an fd", "");
  for (cmsghdr* header = CMSG_FIRSTHDR(&message); header != nullptr;
       header = CMSG_NXTHDR(&message, header)) {
    if (header->cmsg_level == SOL_SOCKET && header->cmsg_type == SCM_RIGHTS) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(header), sizeof fd);
      return UniqueFd(fd);
    }
  }
  throw_sys("receive an fd: no SCM_RIGHTS in the message", "", EBADMSG);
}

}  // namespace hanok::isolate
