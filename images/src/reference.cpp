// Image reference parsing, following the grammar of github.com/distribution/reference
// (ParseNormalizedNamed): the first path component is a registry domain when it contains
// '.' or ':' or is "localhost"; otherwise the domain is docker.io, where a one-component
// path gets the "library/" prefix.
#include "images/reference.hpp"

#include <cctype>
#include <string_view>
#include <vector>

namespace hanok::images {
namespace {

constexpr std::string_view kDefaultDomain = "docker.io";
constexpr std::string_view kLegacyDefaultDomain = "index.docker.io";
constexpr std::string_view kOfficialRepoPrefix = "library/";
constexpr size_t kNameTotalLengthMax = 255;

[[noreturn]] void fail(const std::string& text, const std::string& reason) {
  throw ReferenceError("invalid image reference \"" + text + "\": " + reason);
}

bool is_lower_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}
bool is_alnum(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0;
}
bool is_word(char c) {
  return is_alnum(c) || c == '_';
}
bool is_hex_lower(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

// path-component := [a-z0-9]+ (separator [a-z0-9]+)*
// separator      := [_.] | __ | [-]+
bool valid_path_component(std::string_view s) {
  if (s.empty() || !is_lower_alnum(s.front()) || !is_lower_alnum(s.back())) return false;
  size_t i = 0;
  while (i < s.size()) {
    if (is_lower_alnum(s[i])) {
      ++i;
      continue;
    }
    // A separator run: exactly ".", "_", "__", or one or more "-".
    size_t j = i;
    while (j < s.size() && !is_lower_alnum(s[j])) ++j;
    std::string_view sep = s.substr(i, j - i);
    bool ok = sep == "." || sep == "_" || sep == "__" ||
              sep.find_first_not_of('-') == std::string_view::npos;
    if (!ok) return false;
    i = j;
  }
  return true;
}

// domain-component := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
bool valid_domain_component(std::string_view s) {
  if (s.empty() || !is_alnum(s.front()) || !is_alnum(s.back())) return false;
  for (char c : s) {
    if (!is_alnum(c) && c != '-') return false;
  }
  return true;
}

// domain := (domain-name | "[" ipv6 "]") (":" port-number)?
bool valid_domain(std::string_view s) {
  std::string_view host = s;
  std::string_view port;
  bool has_port = false;
  if (!s.empty() && s.front() == '[') {
    size_t close = s.find(']');
    if (close == std::string_view::npos || close < 3) return false;
    for (char c : s.substr(1, close - 1)) {
      if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.') return false;
    }
    std::string_view rest = s.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return false;
      has_port = true;
      port = rest.substr(1);
    }
    host = {};
  } else {
    size_t colon = s.find(':');
    if (colon != std::string_view::npos) {
      host = s.substr(0, colon);
      port = s.substr(colon + 1);
      has_port = true;
    }
    if (host.empty()) return false;
    size_t start = 0;
    while (true) {
      size_t dot = host.find('.', start);
      std::string_view comp = host.substr(start, dot == std::string_view::npos ? dot : dot - start);
      if (!valid_domain_component(comp)) return false;
      if (dot == std::string_view::npos) break;
      start = dot + 1;
    }
  }
  if (has_port) {
    if (port.empty() || port.size() > 5) return false;
    for (char c : port) {
      if (c < '0' || c > '9') return false;
    }
  }
  return true;
}

// tag := [\w][\w.-]{0,127}
bool valid_tag(std::string_view s) {
  if (s.empty() || s.size() > 128 || !is_word(s.front())) return false;
  for (char c : s) {
    if (!is_word(c) && c != '.' && c != '-') return false;
  }
  return true;
}

// Only sha256 digests are accepted: "sha256:" + 64 lowercase hex digits.
std::string digest_error(std::string_view s) {
  size_t colon = s.find(':');
  if (colon == std::string_view::npos) return "digest \"" + std::string(s) + "\" has no algorithm";
  std::string_view algo = s.substr(0, colon);
  std::string_view hex = s.substr(colon + 1);
  if (algo != "sha256") return "unsupported digest algorithm \"" + std::string(algo) + "\"";
  if (hex.size() != 64) return "sha256 digest must have 64 hex digits";
  for (char c : hex) {
    if (!is_hex_lower(c)) return "sha256 digest must be lowercase hex";
  }
  return {};
}

bool is_hex64(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!is_hex_lower(c)) return false;
  }
  return true;
}

}  // namespace

std::string Reference::name() const {
  return domain + "/" + path;
}

std::string Reference::str() const {
  if (!digest.empty()) return name() + "@" + digest;
  return name() + ":" + tag;
}

std::string Reference::tagged() const {
  if (tag.empty()) return {};
  return name() + ":" + tag;
}

Reference parse_reference(const std::string& text) {
  if (text.empty()) fail(text, "reference is empty");
  // A bare 64-hex string is an image id, not a name.
  if (is_hex64(text)) fail(text, "cannot specify 64-byte hexadecimal strings");

  std::string_view rest = text;
  Reference ref;

  // name [":" tag] ["@" digest]
  if (size_t at = rest.find('@'); at != std::string_view::npos) {
    std::string_view digest = rest.substr(at + 1);
    if (std::string err = digest_error(digest); !err.empty()) fail(text, err);
    ref.digest = std::string(digest);
    rest = rest.substr(0, at);
  }
  size_t last_slash = rest.rfind('/');
  size_t colon = rest.rfind(':');
  if (colon != std::string_view::npos &&
      (last_slash == std::string_view::npos || colon > last_slash)) {
    std::string_view tag = rest.substr(colon + 1);
    if (!valid_tag(tag)) fail(text, "invalid tag \"" + std::string(tag) + "\"");
    ref.tag = std::string(tag);
    rest = rest.substr(0, colon);
  }
  if (rest.empty()) fail(text, "repository name is empty");
  if (rest.size() > kNameTotalLengthMax) {
    fail(text, "repository name must not be more than 255 characters");
  }

  // Split the domain off the way distribution/reference's splitDockerDomain does.
  std::string_view remainder = rest;
  std::string domain(kDefaultDomain);
  size_t slash = rest.find('/');
  if (slash != std::string_view::npos) {
    std::string_view first = rest.substr(0, slash);
    if (first.find_first_of(".:") != std::string_view::npos || first == "localhost" ||
        first.find_first_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ") != std::string_view::npos) {
      if (!valid_domain(first)) fail(text, "invalid domain \"" + std::string(first) + "\"");
      domain = std::string(first);
      remainder = rest.substr(slash + 1);
    }
  }
  if (domain == kLegacyDefaultDomain) domain = std::string(kDefaultDomain);
  if (remainder.empty()) fail(text, "repository path is empty");

  for (char c : remainder) {
    if (c >= 'A' && c <= 'Z') fail(text, "repository name must be lowercase");
  }
  size_t start = 0;
  while (true) {
    size_t end = remainder.find('/', start);
    std::string_view comp =
        remainder.substr(start, end == std::string_view::npos ? end : end - start);
    if (!valid_path_component(comp)) {
      fail(text, "invalid repository path component \"" + std::string(comp) + "\"");
    }
    if (end == std::string_view::npos) break;
    start = end + 1;
  }

  ref.path = std::string(remainder);
  if (domain == kDefaultDomain && ref.path.find('/') == std::string::npos) {
    ref.path = std::string(kOfficialRepoPrefix) + ref.path;
  }
  ref.domain = std::move(domain);
  if (ref.tag.empty() && ref.digest.empty()) ref.tag = "latest";
  if (ref.name().size() > kNameTotalLengthMax) {
    fail(text, "repository name must not be more than 255 characters");
  }
  return ref;
}

}  // namespace hanok::images
