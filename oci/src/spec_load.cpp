// Reading <bundle>/config.json.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "isolate/error.hpp"
#include "isolate/unique_fd.hpp"
#include "oci/spec.hpp"

namespace hanok::oci {

namespace {

std::string read_file(const std::string& path) {
  isolate::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw SpecError(path + ": " + isolate::errno_text(errno));
  std::string text;
  char buffer[16384];
  while (true) {
    ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      throw SpecError(path + ": " + isolate::errno_text(errno));
    }
    text.append(buffer, static_cast<std::size_t>(n));
  }
  return text;
}

}  // namespace

Spec load_spec(const std::string& bundle_dir) {
  std::string path = bundle_dir;
  if (!path.empty() && path.back() != '/') path += '/';
  path += "config.json";
  return parse_spec(read_file(path));
}

}  // namespace hanok::oci
