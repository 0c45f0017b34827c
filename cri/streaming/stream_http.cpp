#include "stream_http.hpp"

#include <poll.h>
#include <strings.h>
#include <sys/socket.h>

#include <cerrno>

#include "isolate/text.hpp"

namespace hanok::cri {

namespace {
constexpr size_t kMaxHead = 16 * 1024;

bool same_text(std::string_view a, std::string_view b) {
  return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}

bool send_all(int fd, const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}
}  // namespace

std::vector<std::string> HttpRequest::values(const std::string& name) const {
  std::vector<std::string> found;
  for (const auto& [key, value] : headers) {
    if (!same_text(key, name)) continue;
    for (std::string_view part : isolate::split(value, ",")) {
      std::string_view trimmed = isolate::trim(part);
      if (!trimmed.empty()) found.emplace_back(trimmed);
    }
  }
  return found;
}

bool HttpRequest::has_token(const std::string& name, const std::string& token) const {
  for (const auto& value : values(name)) {
    if (same_text(value, token)) return true;
  }
  return false;
}

std::optional<HttpRequest> read_http_request(int fd, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string head;
  // One byte at a time past what could be the end: nothing after the head is consumed (the
  // client sends nothing more before the upgrade's answer, but a request body stays unread).
  while (head.size() < kMaxHead) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd pfd{fd, POLLIN, 0};
    int ready = ::poll(&pfd, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return std::nullopt;
    char c = 0;
    ssize_t n = ::recv(fd, &c, 1, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::nullopt;
    head.push_back(c);
    if (head.size() >= 4 && head.compare(head.size() - 4, 4, "\r\n\r\n") == 0) break;
  }
  if (head.size() >= kMaxHead) return std::nullopt;
  head.resize(head.size() - 4);
  auto lines = isolate::split(head, "\r\n");
  if (lines.empty()) return std::nullopt;
  auto request_line = isolate::split(lines[0], " ");
  if (request_line.size() != 3 || !std::string_view(request_line[2]).starts_with("HTTP/1.")) {
    return std::nullopt;
  }
  HttpRequest request;
  request.method = std::string(request_line[0]);
  std::string target(request_line[1]);
  size_t question = target.find('?');
  request.path = target.substr(0, question);
  if (question != std::string::npos) request.query = target.substr(question + 1);
  for (size_t i = 1; i < lines.size(); ++i) {
    std::string_view line = lines[i];
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return std::nullopt;
    request.headers.emplace_back(std::string(isolate::trim(line.substr(0, colon))),
                                 std::string(isolate::trim(line.substr(colon + 1))));
  }
  return request;
}

bool write_http_head(int fd, const std::string& status_line,
                     const std::vector<std::string>& headers) {
  std::string head = status_line + "\r\n";
  for (const auto& header : headers) head += header + "\r\n";
  head += "\r\n";
  return send_all(fd, head);
}

void write_http_error(int fd, int code, const std::string& reason, const std::string& body,
                      const std::vector<std::string>& extra_headers) {
  std::vector<std::string> headers = {"Content-Type: text/plain; charset=utf-8",
                                      "Content-Length: " + std::to_string(body.size() + 1),
                                      "Connection: close"};
  headers.insert(headers.end(), extra_headers.begin(), extra_headers.end());
  if (write_http_head(fd, "HTTP/1.1 " + std::to_string(code) + " " + reason, headers)) {
    send_all(fd, body + "\n");
  }
}

}  // namespace hanok::cri
