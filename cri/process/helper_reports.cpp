#include "helper_reports.hpp"

#include <poll.h>
#include <unistd.h>

#include <functional>

#include "isolate/error.hpp"

namespace hanok::cri {

std::vector<HelperReport> read_helper_reports(
    int fd, const std::string& final_tags, std::chrono::seconds timeout,
    const images::StopToken& stop, const std::string& what,
    const std::function<void(const HelperReport&)>& on_report) {
  using Clock = std::chrono::steady_clock;
  auto deadline = Clock::now() + timeout;
  std::vector<HelperReport> reports;
  std::string text;
  for (;;) {
    for (size_t newline; (newline = text.find('\n')) != std::string::npos;) {
      std::string line = text.substr(0, newline);
      text.erase(0, newline + 1);
      if (line.empty()) continue;
      reports.push_back({line[0], line.substr(1)});
      on_report(reports.back());
      if (final_tags.find(line[0]) != std::string::npos) return reports;
    }
    stop.check(what);
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      throw isolate::Error(isolate::ErrorKind::Internal,
                           what + ": no answer in " + std::to_string(timeout.count()) + " s");
    }
    pollfd p{fd, POLLIN, 0};
    int ready = ::poll(&p, 1, static_cast<int>(std::min<long>(left.count(), 100)));
    if (ready < 0 && errno != EINTR) isolate::throw_sys("wait for", what);
    if (ready <= 0) continue;
    char buffer[4096];
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) {
      throw isolate::Error(isolate::ErrorKind::Internal, what + ": ended without a report");
    }
    text.append(buffer, static_cast<size_t>(n));
  }
}

}  // namespace hanok::cri
