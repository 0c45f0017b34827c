#include "isolate/clock.hpp"

#include <time.h>

#include <cstdio>

namespace hanok::isolate {

int64_t unix_now_ns() {
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  return static_cast<int64_t>(now.tv_sec) * 1000000000 + now.tv_nsec;
}

std::string rfc3339_now() {
  return rfc3339_of(unix_now_ns());
}

std::string rfc3339_of(int64_t unix_ns) {
  timespec now{static_cast<time_t>(unix_ns / 1000000000), static_cast<long>(unix_ns % 1000000000)};
  tm utc{};
  ::gmtime_r(&now.tv_sec, &utc);
  char buffer[64];
  size_t n = ::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(buffer + n, sizeof buffer - n, ".%09ldZ", now.tv_nsec);
  return buffer;
}

}  // namespace hanok::isolate
