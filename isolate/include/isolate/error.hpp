// Errors that carry context (what was being done, on which path, the errno text) and a kind that
// callers decide on (a CLI exit, a gRPC code) instead of matching message text.
#pragma once

#include <cerrno>
#include <stdexcept>
#include <string>
#include <string_view>

namespace hanok::isolate {

enum class ErrorKind {
  Internal,       // a failed system call or anything unexpected
  Invalid,        // bad input: a config field, a flag, an id
  NotFound,       // no such container (or other object)
  AlreadyExists,  // the id or name is taken
  NotRunning,     // the container is not running (stopped, or not started)
  WrongState,     // the operation does not fit the container's state
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& what) : std::runtime_error(what), kind_(kind) {}
  ErrorKind kind() const noexcept { return kind_; }

 private:
  ErrorKind kind_;
};

// The kind of any exception: Error's own, std::invalid_argument as Invalid, else Internal.
ErrorKind kind_of(const std::exception& error) noexcept;

// A failed system call: "mount proc on /proc: Operation not permitted".
class SysError : public Error {
 public:
  SysError(std::string_view what, std::string_view path, int err);
  int error_code() const noexcept { return err_; }

 private:
  int err_;
};

std::string errno_text(int err);

[[noreturn]] void throw_sys(std::string_view what, std::string_view path = {}, int err = errno);

}  // namespace hanok::isolate
