#include "isolate/error.hpp"

#include <cstring>

namespace hanok::isolate {

namespace {
std::string compose(std::string_view what, std::string_view path, int err) {
  std::string message(what);
  if (!path.empty()) {
    message += ' ';
    message += path;
  }
  message += ": ";
  message += errno_text(err);
  return message;
}
}  // namespace

SysError::SysError(std::string_view what, std::string_view path, int err)
    : std::runtime_error(compose(what, path, err)), err_(err) {}

std::string errno_text(int err) {
  char buffer[128];
  return ::strerror_r(err, buffer, sizeof buffer);
}

void throw_sys(std::string_view what, std::string_view path, int err) {
  throw SysError(what, path, err);
}

}  // namespace hanok::isolate
