// OCI image manifest/index and Docker schema2 manifest/manifest list parsing.
#include "images/manifest.hpp"

#include "isolate/text.hpp"

#include <sys/utsname.h>

#include <algorithm>

#include <limits>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string_view>

namespace hanok::images {
namespace {

using nlohmann::json;

constexpr std::string_view kDockerSchema1 = "application/vnd.docker.distribution.manifest.v1+json";
constexpr std::string_view kDockerSchema1Signed =
    "application/vnd.docker.distribution.manifest.v1+prettyjws";

[[noreturn]] void fail(const std::string& where, const std::string& what) {
  throw std::runtime_error(where + ": " + what);
}

bool is_manifest_media_type(std::string_view mt) {
  return mt == kOciManifest || mt == kDockerManifest;
}

bool is_schema1(std::string_view mt) {
  return mt == kDockerSchema1 || mt == kDockerSchema1Signed;
}

// Media types registries may send that say nothing about the document's kind.
bool is_generic_media_type(std::string_view mt) {
  return mt.empty() || mt == "application/json" || mt == "text/plain" ||
         mt == "application/octet-stream";
}

// Strips parameters ("; charset=utf-8") and surrounding blanks from a Content-Type.
std::string bare_media_type(const std::string& mt) {
  return std::string(isolate::trim(std::string_view(mt).substr(0, mt.find(';'))));
}

json parse_document(const std::string& text, const std::string& kind) {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::parse_error& e) {
    fail(kind, std::string("invalid JSON: ") + e.what());
  }
  if (!doc.is_object()) fail(kind, "document is not a JSON object");
  return doc;
}

std::string optional_string(const json& obj, const char* key, const std::string& where) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return {};
  if (!it->is_string()) fail(where + "." + key, "must be a string");
  return it->get<std::string>();
}

std::string required_string(const json& obj, const char* key, const std::string& where) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) fail(where + "." + key, "missing");
  if (!it->is_string()) fail(where + "." + key, "must be a string");
  return it->get<std::string>();
}

// The document's schemaVersion must be 2 (schema1 manifests are not supported).
void check_schema_version(const json& doc, const std::string& kind) {
  auto it = doc.find("schemaVersion");
  if (it == doc.end()) fail(kind + ": schemaVersion", "missing");
  if (!it->is_number_integer()) fail(kind + ": schemaVersion", "must be an integer");
  if (it->get<int64_t>() != 2) {
    fail(kind + ": schemaVersion",
         "unsupported version " + std::to_string(it->get<int64_t>()) +
             " (only schema 2 is supported; Docker schema1 manifests are deprecated)");
  }
}

Platform parse_platform(const json& obj, const std::string& where) {
  if (!obj.is_object()) fail(where, "must be an object");
  Platform p;
  p.os = required_string(obj, "os", where);
  p.architecture = required_string(obj, "architecture", where);
  p.variant = optional_string(obj, "variant", where);
  return p;
}

Descriptor parse_descriptor(const json& obj, const std::string& where) {
  if (!obj.is_object()) fail(where, "must be an object");
  Descriptor d;
  d.media_type = required_string(obj, "mediaType", where);
  std::string digest = required_string(obj, "digest", where);
  try {
    d.digest = Digest::parse(digest);
  } catch (const std::exception& e) {
    fail(where + ".digest", e.what());
  }
  auto size = obj.find("size");
  if (size == obj.end() || size->is_null()) fail(where + ".size", "missing");
  if (size->is_number_unsigned()) {
    d.size = size->get<uint64_t>();
  } else if (size->is_number_integer()) {
    fail(where + ".size", "must not be negative");
  } else {
    fail(where + ".size", "must be a non-negative integer");
  }
  if (auto p = obj.find("platform"); p != obj.end() && !p->is_null()) {
    d.platform = parse_platform(*p, where + ".platform");
  }
  return d;
}

// Decides the document's media type from the caller's (Content-Type) and the document's own
// mediaType field. `fallback` is used when neither names one (OCI allows omitting it).
std::string resolve_media_type(const json& doc, const std::string& given, const std::string& kind,
                               const char* fallback) {
  std::string from_doc = optional_string(doc, "mediaType", kind);
  std::string from_caller = bare_media_type(given);
  if (is_schema1(from_caller) || is_schema1(from_doc)) {
    fail(kind, "Docker schema1 manifests are not supported (" +
                   (is_schema1(from_caller) ? from_caller : from_doc) + ")");
  }
  std::string mt = is_generic_media_type(from_caller) ? from_doc : from_caller;
  if (mt.empty()) mt = fallback;
  if (!from_doc.empty() && !is_generic_media_type(from_caller) && from_doc != from_caller) {
    fail(kind + ": mediaType",
         "document says \"" + from_doc + "\" but it was served as \"" + from_caller + "\"");
  }
  return mt;
}

std::string platform_str(const Platform& p) {
  std::string s = p.os + "/" + p.architecture;
  if (!p.variant.empty()) s += "/" + p.variant;
  return s;
}

}  // namespace

bool is_index_media_type(const std::string& media_type) {
  std::string mt = bare_media_type(media_type);
  return mt == kOciIndex || mt == kDockerManifestList;
}

Manifest parse_manifest(const std::string& text, const std::string& media_type) {
  const std::string kind = "manifest";
  json doc = parse_document(text, kind);
  std::string mt = resolve_media_type(doc, media_type, kind, kOciManifest);
  if (is_index_media_type(mt)) fail(kind, "\"" + mt + "\" is an index, not an image manifest");
  if (!is_manifest_media_type(mt)) fail(kind, "unsupported media type \"" + mt + "\"");
  check_schema_version(doc, kind);

  Manifest m;
  m.media_type = mt;
  auto config = doc.find("config");
  if (config == doc.end() || config->is_null()) fail(kind + ": config", "missing");
  m.config = parse_descriptor(*config, kind + ": config");
  auto layers = doc.find("layers");
  if (layers == doc.end() || layers->is_null()) fail(kind + ": layers", "missing");
  if (!layers->is_array()) fail(kind + ": layers", "must be an array");
  m.layers.reserve(layers->size());
  for (size_t i = 0; i < layers->size(); ++i) {
    m.layers.push_back(
        parse_descriptor((*layers)[i], kind + ": layers[" + std::to_string(i) + "]"));
  }
  return m;
}

Index parse_index(const std::string& text, const std::string& media_type) {
  const std::string kind = "index";
  json doc = parse_document(text, kind);
  std::string mt = resolve_media_type(doc, media_type, kind, kOciIndex);
  if (is_manifest_media_type(mt)) fail(kind, "\"" + mt + "\" is an image manifest, not an index");
  if (!is_index_media_type(mt)) fail(kind, "unsupported media type \"" + mt + "\"");
  check_schema_version(doc, kind);

  Index idx;
  idx.media_type = mt;
  auto manifests = doc.find("manifests");
  if (manifests == doc.end() || manifests->is_null()) fail(kind + ": manifests", "missing");
  if (!manifests->is_array()) fail(kind + ": manifests", "must be an array");
  idx.manifests.reserve(manifests->size());
  for (size_t i = 0; i < manifests->size(); ++i) {
    idx.manifests.push_back(
        parse_descriptor((*manifests)[i], kind + ": manifests[" + std::to_string(i) + "]"));
  }
  return idx;
}

Platform host_platform() {
  struct Arch {
    const char* machine;
    const char* architecture;
    const char* variant;
  };
  static constexpr Arch kArchs[] = {
      {"x86_64", "amd64", ""},    {"aarch64", "arm64", ""},   {"armv8l", "arm64", ""},
      {"armv7l", "arm", "v7"},    {"armv6l", "arm", "v6"},    {"i686", "386", ""},
      {"i386", "386", ""},        {"ppc64le", "ppc64le", ""}, {"s390x", "s390x", ""},
      {"riscv64", "riscv64", ""}, {"mips64", "mips64", ""},   {"loongarch64", "loong64", ""}};
  utsname name{};
  Platform platform;
  if (::uname(&name) != 0) return platform;
  std::string machine = name.machine;
  for (const auto& arch : kArchs) {
    if (machine == arch.machine) {
      platform.architecture = arch.architecture;
      platform.variant = arch.variant;
      return platform;
    }
  }
  platform.architecture = machine;
  return platform;
}

Platform parse_platform(const std::string& text) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    size_t slash = text.find('/', start);
    parts.push_back(text.substr(start, slash == std::string::npos ? slash : slash - start));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  bool empty_part =
      std::any_of(parts.begin(), parts.end(), [](const auto& p) { return p.empty(); });
  if (parts.size() < 2 || parts.size() > 3 || empty_part) {
    throw std::invalid_argument("platform \"" + text + "\": not os/architecture[/variant]");
  }
  return Platform{parts[0], parts[1], parts.size() == 3 ? parts[2] : std::string()};
}

const Descriptor& select_platform(const Index& index, const Platform& wanted) {
  const Descriptor* first_match = nullptr;
  for (const Descriptor& d : index.manifests) {
    if (!d.platform) continue;  // no platform: cannot tell what it runs on
    const Platform& p = *d.platform;
    if (p.os != wanted.os || p.architecture != wanted.architecture) continue;
    if (!wanted.variant.empty()) {
      if (p.variant == wanted.variant) return d;
      continue;
    }
    // No variant asked for: prefer an entry without a variant, else the first match.
    if (p.variant.empty()) return d;
    if (first_match == nullptr) first_match = &d;
  }
  if (first_match != nullptr) return *first_match;

  std::string have;
  for (const Descriptor& d : index.manifests) {
    if (!have.empty()) have += ", ";
    have += d.platform ? platform_str(*d.platform) : std::string("(no platform)");
  }
  if (have.empty()) have = "none";
  throw std::runtime_error("no manifest for " + platform_str(wanted) +
                           " in the index (have: " + have + ")");
}

Compression layer_compression(const std::string& media_type) {
  std::string mt = bare_media_type(media_type);
  if (mt == "application/vnd.oci.image.layer.v1.tar" ||
      mt == "application/vnd.oci.image.layer.nondistributable.v1.tar" ||
      mt == "application/vnd.docker.image.rootfs.diff.tar") {
    return Compression::None;
  }
  if (mt == "application/vnd.oci.image.layer.v1.tar+gzip" ||
      mt == "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip" ||
      mt == "application/vnd.docker.image.rootfs.diff.tar.gzip" ||
      mt == "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip") {
    return Compression::Gzip;
  }
  if (mt == "application/vnd.oci.image.layer.v1.tar+zstd" ||
      mt == "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd") {
    return Compression::Zstd;
  }
  throw std::runtime_error("unsupported layer media type \"" + media_type + "\"");
}

}  // namespace hanok::images
