// Private to oci/src: Semantic Versioning 2.0.0 parsing (https://semver.org), for ociVersion.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace hanok::oci::detail {

struct SemVer {
  uint64_t major = 0;
  uint64_t minor = 0;
  uint64_t patch = 0;
  std::string_view prerelease;  // "rc.1" in "1.0.0-rc.1"; views into the parsed text
  std::string_view build;       // "20240101" in "1.0.0+20240101"
};

// nullopt unless `text` is exactly MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD].
std::optional<SemVer> parse_semver(std::string_view text);

}  // namespace hanok::oci::detail
