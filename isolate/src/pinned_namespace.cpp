#include "isolate/pinned_namespace.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cstring>

#include "isolate/error.hpp"
#include "isolate/unique_fd.hpp"

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

namespace hanok::isolate {

void pin_namespace(const std::string& ns_path, const std::string& target) {
  UniqueFd file(::open(target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0400));
  if (!file) throw_sys("create the pin file", target);
  file.reset();
  if (::mount(ns_path.c_str(), target.c_str(), nullptr, MS_BIND, nullptr) != 0) {
    int saved = errno;
    ::unlink(target.c_str());
    throw_sys("bind " + ns_path + " onto", target, saved);
  }
}

void unpin_namespace(const std::string& target) {
  if (::umount2(target.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) != 0 && errno != EINVAL &&
      errno != ENOENT) {
    throw_sys("unmount the pinned namespace", target);
  }
  if (::unlink(target.c_str()) != 0 && errno != ENOENT) throw_sys("remove", target);
}

bool is_pinned_namespace(const std::string& path) {
  struct statfs fs {};
  return ::statfs(path.c_str(), &fs) == 0 && static_cast<unsigned long>(fs.f_type) == NSFS_MAGIC;
}

void bring_loopback_up() {
  UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!sock) throw_sys("socket for", "lo");
  ifreq request{};
  std::strncpy(request.ifr_name, "lo", IFNAMSIZ - 1);
  if (::ioctl(sock.get(), SIOCGIFFLAGS, &request) != 0) throw_sys("read the flags of", "lo");
  request.ifr_flags = static_cast<short>(request.ifr_flags | IFF_UP | IFF_RUNNING);
  if (::ioctl(sock.get(), SIOCSIFFLAGS, &request) != 0) throw_sys("bring up", "lo");
}

}  // namespace hanok::isolate
