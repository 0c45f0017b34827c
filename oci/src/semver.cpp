// Semantic Versioning 2.0.0: numeric parts without leading zeros, dot-separated identifiers.
#include "semver.hpp"

#include <charconv>

namespace hanok::oci::detail {

namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool is_identifier_char(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
}

bool all_digits(std::string_view s) {
  for (char c : s) {
    if (!is_digit(c)) return false;
  }
  return true;
}

// A numeric identifier: digits, no leading zero (except "0" itself).
std::optional<uint64_t> numeric(std::string_view s) {
  if (s.empty() || !all_digits(s) || (s.size() > 1 && s.front() == '0')) return std::nullopt;
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return value;
}

// Dot-separated, non-empty identifiers of [0-9A-Za-z-]; numeric ones (prerelease only) must
// not have leading zeros.
bool valid_identifiers(std::string_view s, bool check_leading_zeros) {
  while (true) {
    auto dot = s.find('.');
    std::string_view id = s.substr(0, dot);
    if (id.empty()) return false;
    for (char c : id) {
      if (!is_identifier_char(c)) return false;
    }
    if (check_leading_zeros && all_digits(id) && id.size() > 1 && id.front() == '0') return false;
    if (dot == std::string_view::npos) return true;
    s.remove_prefix(dot + 1);
  }
}

}  // namespace

std::optional<SemVer> parse_semver(std::string_view text) {
  SemVer version;
  if (auto plus = text.find('+'); plus != std::string_view::npos) {
    version.build = text.substr(plus + 1);
    if (!valid_identifiers(version.build, false)) return std::nullopt;
    text = text.substr(0, plus);
  }
  if (auto dash = text.find('-'); dash != std::string_view::npos) {
    version.prerelease = text.substr(dash + 1);
    if (!valid_identifiers(version.prerelease, true)) return std::nullopt;
    text = text.substr(0, dash);
  }
  std::optional<uint64_t> parts[3];
  for (int i = 0; i < 3; ++i) {
    auto dot = text.find('.');
    if ((i < 2) == (dot == std::string_view::npos)) return std::nullopt;
    parts[i] = numeric(text.substr(0, dot));
    if (!parts[i]) return std::nullopt;
    if (dot != std::string_view::npos) text.remove_prefix(dot + 1);
  }
  version.major = *parts[0];
  version.minor = *parts[1];
  version.patch = *parts[2];
  return version;
}

}  // namespace hanok::oci::detail
