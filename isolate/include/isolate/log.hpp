// The runtime's log: text or JSON lines (runc's logrus format), one write(2) per line so that
// a forked container init can use it too.
#pragma once

#include <string>
#include <string_view>

namespace hanok::isolate {

enum class LogLevel { Debug, Info, Warning, Error };

// fd < 0: stderr. Lines below `min_level` are dropped.
void configure_log(int fd, bool json, LogLevel min_level);
void log_line(LogLevel level, std::string_view message);
inline void log_debug(std::string_view message) {
  log_line(LogLevel::Debug, message);
}
inline void log_warning(std::string_view message) {
  log_line(LogLevel::Warning, message);
}
inline void log_error(std::string_view message) {
  log_line(LogLevel::Error, message);
}
// The configured fd (or -1 for stderr), to keep it open across a clone.
int log_fd();
// From now on nothing is logged: a container's process that closed the log's fd (it keeps no fd
// of the host's) must not write to whatever later takes that number, nor to its own stderr.
void silence_log();

// The message of the last "error" line of a JSON log this module wrote (what a caller of the
// runtime tells its user when the runtime failed); "" when there is none.
std::string last_logged_error(std::string_view json_log);

}  // namespace hanok::isolate
