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
    : Error(ErrorKind::Internal, compose(what, path, err)), err_(err) {}

ErrorKind kind_of(const std::exception& error) noexcept {
  if (const auto* typed = dynamic_cast<const Error*>(&error)) return typed->kind();
  if (dynamic_cast<const std::invalid_argument*>(&error) != nullptr) return ErrorKind::Invalid;
  return ErrorKind::Internal;
}

std::string errno_text(int err) {
  char buffer[128];
  return ::strerror_r(err, buffer, sizeof buffer);
}

void throw_sys(std::string_view what, std::string_view path, int err) {
  throw SysError(what, path, err);
}

}  // namespace hanok::isolate
