// Errors that carry context: what was being done, on which path, and the errno text.
#pragma once

#include <cerrno>
#include <stdexcept>
#include <string>
#include <string_view>

namespace hanok::isolate {

// A failed system call: "mount proc on /proc: Operation not permitted".
class SysError : public std::runtime_error {
 public:
  SysError(std::string_view what, std::string_view path, int err);
  int error_code() const noexcept { return err_; }

 private:
  int err_;
};

std::string errno_text(int err);

[[noreturn]] void throw_sys(std::string_view what, std::string_view path = {}, int err = errno);

}  // namespace hanok::isolate
