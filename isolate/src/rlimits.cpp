// POSIX resource limits: OCI names and applying them to the calling process.
#include "isolate/rlimits.hpp"

#include <sys/resource.h>

#include <cerrno>
#include <cstdio>
#include <string>

#include "isolate/error.hpp"

namespace hanok::isolate {

namespace {

struct RlimitName {
  std::string_view name;
  int resource;
};

constexpr RlimitName kRlimits[] = {
    {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_CORE", RLIMIT_CORE},
    {"RLIMIT_CPU", RLIMIT_CPU},
    {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_NPROC", RLIMIT_NPROC},
    {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
    {"RLIMIT_RTTIME", RLIMIT_RTTIME},
    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_STACK", RLIMIT_STACK},
};

const char* rlimit_name(int resource) {
  for (const auto& r : kRlimits) {
    if (r.resource == resource) return r.name.data();
  }
  return "RLIMIT_?";
}

[[noreturn]] void fail(int resource, int err) {
  throw_sys(std::string("setrlimit ") + rlimit_name(resource), {}, err);
}

}  // namespace

std::optional<int> rlimit_from_name(std::string_view name) {
  for (const auto& r : kRlimits) {
    if (r.name == name) return r.resource;
  }
  return std::nullopt;
}

void apply_rlimits(const std::vector<Rlimit>& limits, void (*warn)(const char* message)) {
  for (const auto& limit : limits) {
    const auto resource = static_cast<__rlimit_resource>(limit.resource);
    rlimit wanted{static_cast<rlim_t>(limit.soft), static_cast<rlim_t>(limit.hard)};
    if (::setrlimit(resource, &wanted) == 0) continue;
    int err = errno;
    rlimit current{};
    if (err != EPERM || ::getrlimit(resource, &current) != 0 ||
        wanted.rlim_max <= current.rlim_max) {
      fail(limit.resource, err);
    }
    // Raising a hard limit needs CAP_SYS_RESOURCE: keep the current hard limit instead.
    rlimit clamped{wanted.rlim_cur < current.rlim_max ? wanted.rlim_cur : current.rlim_max,
                   current.rlim_max};
    if (::setrlimit(resource, &clamped) != 0) fail(limit.resource, errno);
    if (warn != nullptr) {
      char message[256];
      std::snprintf(message, sizeof message,
                    "%s: cannot raise the hard limit to %llu without CAP_SYS_RESOURCE; "
                    "using soft %llu, hard %llu",
                    rlimit_name(limit.resource), static_cast<unsigned long long>(limit.hard),
                    static_cast<unsigned long long>(clamped.rlim_cur),
                    static_cast<unsigned long long>(clamped.rlim_max));
      warn(message);
    }
  }
}

}  // namespace hanok::isolate
