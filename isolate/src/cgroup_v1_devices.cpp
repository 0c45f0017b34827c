#include "cgroup_v1_devices.hpp"

#include "isolate/text.hpp"

namespace hanok::isolate::cgroup::v1 {

namespace {
unsigned access_bits(std::string_view access) {
  unsigned bits = 0;
  for (char c : access) bits |= c == 'r' ? 1u : c == 'w' ? 2u : c == 'm' ? 4u : 0u;
  return bits;
}

std::string access_text(unsigned bits) {
  std::string text;
  if (bits & 1u) text += 'r';
  if (bits & 2u) text += 'w';
  if (bits & 4u) text += 'm';
  return text;
}

std::string number_text(int64_t number) {
  return number < 0 ? std::string("*") : std::to_string(number);
}

std::string rule_text(const std::tuple<char, int64_t, int64_t>& key, unsigned bits) {
  const auto& [type, major, minor] = key;
  return std::string(1, type) + ' ' + number_text(major) + ':' + number_text(minor) + ' ' +
         access_text(bits);
}

std::optional<int64_t> parse_number(std::string_view text) {
  if (text == "*") return -1;
  auto value = parse_i64(text);
  return value && *value >= 0 ? value : std::nullopt;
}
}  // namespace

DeviceState device_state_of(const std::vector<DeviceRule>& rules) {
  DeviceState state;
  for (const DeviceRule& rule : rules) {
    if (rule.type == 'a') {
      state.default_allow = rule.allow;
      state.exceptions.clear();
      continue;
    }
    auto key = std::make_tuple(rule.type, rule.major, rule.minor);
    unsigned bits = access_bits(rule.access);
    // A rule against the default adds to an exception; one along it takes from the same one.
    if (rule.allow != state.default_allow) {
      state.exceptions[key] |= bits;
    } else if (auto it = state.exceptions.find(key); it != state.exceptions.end()) {
      it->second &= ~bits;
      if (it->second == 0) state.exceptions.erase(it);
    }
  }
  return state;
}

DeviceState parse_devices_list(std::string_view text) {
  DeviceState state;
  for (std::string_view line : split(text, "\n")) {
    auto fields = split(line, " ");
    if (fields.size() != 3) continue;
    if (fields[0] == "a") {
      state.default_allow = true;
      state.exceptions.clear();
      return state;
    }
    size_t colon = fields[1].find(':');
    if (colon == std::string_view::npos) continue;
    auto major = parse_number(fields[1].substr(0, colon));
    auto minor = parse_number(fields[1].substr(colon + 1));
    if (!major || !minor || fields[0].size() != 1) continue;
    state.exceptions[std::make_tuple(fields[0][0], *major, *minor)] |= access_bits(fields[2]);
  }
  return state;
}

std::vector<DeviceWrite> device_transition(const std::optional<DeviceState>& current,
                                           const DeviceState& target) {
  std::vector<DeviceWrite> writes;
  // Exceptions are allowed devices in a default-deny cgroup, denied ones in a default-allow one.
  bool exception_allows = !target.default_allow;
  if (!current || current->default_allow != target.default_allow) {
    writes.push_back({target.default_allow, "a"});
    for (const auto& [key, bits] : target.exceptions) {
      writes.push_back({exception_allows, rule_text(key, bits)});
    }
    return writes;
  }
  auto bits_in = [](const DeviceState& state, const auto& key) {
    auto it = state.exceptions.find(key);
    return it == state.exceptions.end() ? 0u : it->second;
  };
  std::vector<DeviceWrite> added;    // bits that become exceptions
  std::vector<DeviceWrite> removed;  // bits that stop being exceptions
  for (const auto& [key, bits] : target.exceptions) {
    if (unsigned more = bits & ~bits_in(*current, key)) {
      added.push_back({exception_allows, rule_text(key, more)});
    }
  }
  for (const auto& [key, bits] : current->exceptions) {
    if (unsigned fewer = bits & ~bits_in(target, key)) {
      removed.push_back({!exception_allows, rule_text(key, fewer)});
    }
  }
  // Permissions gained first: allow rules before deny rules.
  auto& first = exception_allows ? added : removed;
  auto& second = exception_allows ? removed : added;
  writes.insert(writes.end(), first.begin(), first.end());
  writes.insert(writes.end(), second.begin(), second.end());
  return writes;
}

}  // namespace hanok::isolate::cgroup::v1
