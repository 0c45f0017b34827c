// Private to cri/: the HTTP/1.1 the streaming server needs before a connection upgrades: one
// request head read with limits (size, time), its headers, and plain answers.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace hanok::cri {

struct HttpRequest {
  std::string method;
  std::string path;   // without the query
  std::string query;  // after '?', undecoded
  std::vector<std::pair<std::string, std::string>> headers;

  // Every value of a header (case-insensitive name), comma-separated lists split and trimmed.
  std::vector<std::string> values(const std::string& name) const;
  // Whether a comma-separated header holds `token` (case-insensitive): "Connection: upgrade".
  bool has_token(const std::string& name, const std::string& token) const;
};

// Reads one request head from `fd` (a blocking socket): nullopt when the peer sent nothing
// valid within `timeout` or more than 16 KiB of head.
std::optional<HttpRequest> read_http_request(int fd, std::chrono::milliseconds timeout);

// Writes a complete plain-text answer ("404 Not Found", ...) with `extra_headers` lines.
void write_http_error(int fd, int code, const std::string& reason, const std::string& body,
                      const std::vector<std::string>& extra_headers = {});
// Writes a head as is (status line and header lines, each without CRLF); false when it failed.
bool write_http_head(int fd, const std::string& status_line,
                     const std::vector<std::string>& headers);

}  // namespace hanok::cri
