#include "isolate/log.hpp"

#include "isolate/clock.hpp"

#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <string>

namespace hanok::isolate {

namespace {
int g_fd = -1;
bool g_json = false;
bool g_silenced = false;
LogLevel g_min = LogLevel::Warning;

const char* level_name(LogLevel level) {
  switch (level) {
    case LogLevel::Debug:
      return "debug";
    case LogLevel::Info:
      return "info";
    case LogLevel::Warning:
      return "warning";
    case LogLevel::Error:
      return "error";
  }
  return "error";
}

std::string json_escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char hex[8];
          std::snprintf(hex, sizeof hex, "\\u%04x", c);
          out += hex;
        } else {
          out += c;
        }
    }
  }
  return out;
}
}  // namespace

void configure_log(int fd, bool json, LogLevel min_level) {
  g_fd = fd;
  g_json = json;
  g_min = min_level;
}

int log_fd() {
  return g_fd;
}

void silence_log() {
  g_silenced = true;
  g_fd = -1;
}

void log_line(LogLevel level, std::string_view message) {
  if (g_silenced || level < g_min) return;
  std::string line;
  if (g_json) {
    line = "{\"level\":\"" + std::string(level_name(level)) + "\",\"msg\":\"" +
           json_escape(message) + "\",\"time\":\"" + rfc3339_now() + "\"}\n";
  } else if (g_fd >= 0) {
    line = rfc3339_now() + " " + level_name(level) + ": " + std::string(message) + "\n";
  } else {
    line = "hanok: " + std::string(message) + "\n";
  }
  ssize_t ignored = ::write(g_fd >= 0 ? g_fd : STDERR_FILENO, line.data(), line.size());
  (void)ignored;
}

std::string last_logged_error(std::string_view json_log) {
  std::string error;
  size_t start = 0;
  while (start < json_log.size()) {
    size_t end = json_log.find('\n', start);
    if (end == std::string_view::npos) end = json_log.size();
    std::string_view line = json_log.substr(start, end - start);
    start = end + 1;
    constexpr std::string_view kErrorStart = "{\"level\":\"error\",\"msg\":\"";
    if (line.rfind(kErrorStart, 0) != 0) continue;
    // The message as json_escape wrote it, unescaped.
    std::string message;
    for (size_t i = kErrorStart.size(); i < line.size() && line[i] != '"'; ++i) {
      char c = line[i];
      if (c == '\\' && i + 1 < line.size()) {
        c = line[++i];
        if (c == 'n') c = '\n';
        if (c == 't') c = '\t';
        if (c == 'u' && i + 4 < line.size()) {
          c = static_cast<char>(std::stoi(std::string(line.substr(i + 1, 4)), nullptr, 16));
          i += 4;
        }
      }
      message += c;
    }
    error = message;
  }
  return error;
}

}  // namespace hanok::isolate
