#include "isolate/unix_socket.hpp"

#include <sys/un.h>

#include <cstring>

#include "isolate/error.hpp"

namespace hanok::isolate {

namespace {
sockaddr_un address_of(const std::string& path, const char* what) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path) throw_sys(what, path, ENAMETOOLONG);
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  return address;
}

UniqueFd new_socket(int type, const std::string& path) {
  UniqueFd fd(::socket(AF_UNIX, type | SOCK_CLOEXEC, 0));
  if (!fd) throw_sys("socket for", path);
  return fd;
}
}  // namespace

UniqueFd listen_unix(const std::string& path, int type, int backlog) {
  sockaddr_un address = address_of(path, "bind");
  UniqueFd fd = new_socket(type, path);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    throw_sys("bind", path);
  }
  if (::listen(fd.get(), backlog) != 0) throw_sys("listen", path);
  return fd;
}

UniqueFd connect_unix(const std::string& path, int type, const std::string& what) {
  sockaddr_un address = address_of(path, what.c_str());
  UniqueFd fd = new_socket(type, path);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    throw_sys(what, path);
  }
  return fd;
}

}  // namespace hanok::isolate
