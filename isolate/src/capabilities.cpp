// Linux capabilities by name (libcap), and applying the bounding, E/P/I and ambient sets.
#include "isolate/capabilities.hpp"

#include <linux/capability.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "isolate/error.hpp"
#include "isolate/log.hpp"

namespace hanok::isolate {

namespace {

// Capability numbers are at most 63 while the kernel keeps them in two 32-bit words.
constexpr int kMaxCapabilityNumber = 63;

struct CapFree {
  void operator()(void* p) const noexcept { cap_free(p); }
};
using CapText = std::unique_ptr<char, CapFree>;

struct CapStateFree {
  void operator()(cap_t p) const noexcept { cap_free(p); }
};
using CapState = std::unique_ptr<std::remove_pointer_t<cap_t>, CapStateFree>;

// libcap's name for `cap` ("cap_chown"), or an empty string when it only knows the number.
std::string libcap_name(int cap) {
  if (cap < 0 || cap > kMaxCapabilityNumber) return {};
  CapText text(cap_to_name(static_cast<cap_value_t>(cap)));
  if (!text) return {};
  std::string name(text.get());
  // For numbers it has no name for, libcap gives the number itself.
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name.front()))) return {};
  return name;
}

bool contains(const std::vector<int>& caps, int cap) {
  return std::find(caps.begin(), caps.end(), cap) != caps.end();
}

std::string display_name(int cap) {
  std::string name = capability_name(cap);
  return name.empty() ? std::to_string(cap) : name;
}

void set_flags(cap_t state, cap_flag_t flag, const std::vector<int>& caps, int last) {
  for (int cap : caps) {
    if (cap < 0 || cap > last) continue;
    cap_value_t value = static_cast<cap_value_t>(cap);
    if (cap_set_flag(state, flag, 1, &value, CAP_SET) != 0) {
      throw_sys("cap_set_flag " + display_name(cap));
    }
  }
}

}  // namespace

std::optional<int> capability_from_name(std::string_view name) {
  constexpr std::string_view prefix = "CAP_";
  if (name.size() <= prefix.size() || name.substr(0, prefix.size()) != prefix) return std::nullopt;
  std::string lower;
  lower.reserve(name.size());
  for (char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (!std::isupper(u) && !std::isdigit(u) && c != '_') return std::nullopt;
    lower.push_back(static_cast<char>(std::tolower(u)));
  }
  cap_value_t value = -1;
  if (cap_from_name(lower.c_str(), &value) != 0) return std::nullopt;
  // Guard against libcap accepting something that is not a name of its own.
  if (libcap_name(value) != lower) return std::nullopt;
  return static_cast<int>(value);
}

std::string capability_name(int cap) {
  std::string name = libcap_name(cap);
  if (name.empty()) return {};
  for (char& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return name;
}

std::vector<std::string> known_capability_names() {
  std::vector<std::string> names;
  for (int cap = 0; cap <= kMaxCapabilityNumber; ++cap) {
    std::string name = capability_name(cap);
    if (name.empty()) {
      if (cap > CAP_LAST_CAP) break;
      continue;
    }
    names.push_back(std::move(name));
  }
  return names;
}

int last_supported_capability() {
  // libcap probes the running kernel when it is loaded.
  const int bits = static_cast<int>(cap_max_bits());
  if (bits > 0) return std::min(bits - 1, kMaxCapabilityNumber);
  return CAP_LAST_CAP;
}

void drop_bounding_set(const CapabilitySets& sets) {
  const int last = last_supported_capability();
  for (int cap = 0; cap <= last; ++cap) {
    if (contains(sets.bounding, cap)) continue;
    const int present = ::prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
    if (present == 0) continue;  // Already gone; dropping again would need CAP_SETPCAP.
    if (present < 0 && errno == EINVAL) continue;  // Unknown to this kernel.
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) {
      throw_sys("drop " + display_name(cap) + " from the bounding set");
    }
  }
}

void apply_capability_sets(const CapabilitySets& sets) {
  const int last = last_supported_capability();

  CapState state(cap_init());  // Every flag clear.
  if (!state) throw_sys("cap_init");
  set_flags(state.get(), CAP_EFFECTIVE, sets.effective, last);
  set_flags(state.get(), CAP_PERMITTED, sets.permitted, last);
  set_flags(state.get(), CAP_INHERITABLE, sets.inheritable, last);
  if (cap_set_proc(state.get()) != 0) throw_sys("set capabilities (capset)");

  // Ambient capabilities (Linux 4.3+); an older kernel answers EINVAL and we go without.
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0) {
    if (errno == EINVAL) return;
    throw_sys("clear the ambient capabilities");
  }
  for (int cap : sets.ambient) {
    if (cap < 0 || cap > last) continue;
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) != 0) {
      if (errno == EINVAL) continue;
      // Not both permitted and inheritable: runc warns and goes on, and configs written for it
      // (`runc spec` lists ambient capabilities without inheritable ones) rely on that.
      if (errno == EPERM) {
        log_debug("cannot raise ambient capability " + display_name(cap) +
                  ": it is not both permitted and inheritable");
        continue;
      }
      throw_sys("raise ambient capability " + display_name(cap));
    }
  }
}

}  // namespace hanok::isolate
