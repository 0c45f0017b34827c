// Manifests: OCI image manifest and index, Docker schema2 manifest and manifest list.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "images/digest.hpp"

namespace hanok::images {

inline constexpr const char* kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr const char* kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr const char* kDockerManifest =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr const char* kDockerManifestList =
    "application/vnd.docker.distribution.manifest.list.v2+json";

struct Platform {
  std::string os = "linux";
  std::string architecture = "amd64";
  std::string variant;
};

// This machine's platform in OCI terms: uname's machine mapped to GOARCH names (x86_64 amd64,
// aarch64 arm64, armv7l arm/v7, ...).
Platform host_platform();
// "linux/arm64", "linux/arm/v7". Throws std::invalid_argument naming the text.
Platform parse_platform(const std::string& text);

struct Descriptor {
  std::string media_type;
  Digest digest;
  uint64_t size = 0;
  std::optional<Platform> platform;
};

struct Manifest {
  std::string media_type;
  Descriptor config;
  std::vector<Descriptor> layers;
};

struct Index {
  std::string media_type;
  std::vector<Descriptor> manifests;
};

bool is_index_media_type(const std::string& media_type);
// Parses by media type (from the registry's Content-Type or the document's mediaType).
// Throws std::runtime_error naming the field: "manifest: layers[2].digest: ...".
Manifest parse_manifest(const std::string& json, const std::string& media_type);
Index parse_index(const std::string& json, const std::string& media_type);
// The manifest for `wanted` (linux/amd64 by default; a variant must match when asked).
// Throws "no manifest for linux/arm64 in the index (have: linux/amd64, ...)".
const Descriptor& select_platform(const Index& index, const Platform& wanted = Platform{});

// Layer media types: tar, tar+gzip, tar+zstd (OCI and Docker names).
enum class Compression { None, Gzip, Zstd };
Compression layer_compression(const std::string& media_type);

}  // namespace hanok::images
