// WWW-Authenticate parsing (RFC 7235 challenges, as registries send them).
#include <cctype>
#include <string>
#include <vector>

#include "images/registry_client.hpp"

namespace hanok::images::detail {
namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

std::vector<AuthChallenge> parse_www_authenticate(const std::string& header) {
  std::vector<AuthChallenge> out;
  const size_t n = header.size();
  size_t i = 0;
  auto skip_ws = [&] {
    while (i < n && (header[i] == ' ' || header[i] == '\t')) ++i;
  };
  while (i < n) {
    while (i < n && (header[i] == ' ' || header[i] == '\t' || header[i] == ',')) ++i;
    size_t start = i;
    while (i < n && header[i] != ' ' && header[i] != '\t' && header[i] != ',' && header[i] != '=')
      ++i;
    std::string token = header.substr(start, i - start);
    if (token.empty()) {
      if (i < n) ++i;  // a stray '='
      continue;
    }
    skip_ws();
    if (i < n && header[i] == '=' && !out.empty()) {
      ++i;
      skip_ws();
      std::string value;
      if (i < n && header[i] == '"') {
        ++i;
        while (i < n && header[i] != '"') {
          if (header[i] == '\\' && i + 1 < n) ++i;
          value += header[i++];
        }
        if (i < n) ++i;  // closing quote
      } else {
        while (i < n && header[i] != ',' && header[i] != ' ' && header[i] != '\t')
          value += header[i++];
      }
      out.back().params[lower(token)] = value;
    } else {
      out.push_back(AuthChallenge{lower(token), {}});
    }
  }
  return out;
}

}  // namespace hanok::images::detail
