// OCI distribution-spec v2 client (pulls only): manifests by tag or digest, blobs streamed into
// the content store. Endpoints come from mirrors and the registry itself, with bearer/basic auth,
// retries with backoff on transient failures and de-duplication of concurrent blob downloads.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "images/content_store.hpp"
#include "images/digest.hpp"
#include "images/manifest.hpp"
#include "images/reference.hpp"
#include "images/stop_token.hpp"

namespace hanok::images {

// Per-registry configuration. `prefix` is "domain" or "domain/path" and matches a reference at
// a '/' boundary (the longest prefix wins).
struct RegistryHost {
  std::string prefix;
  std::vector<std::string>
      mirrors;            // endpoint URLs with scheme, tried in order before the registry
  bool insecure = false;  // allow plain http, skip TLS verification
  std::string ca_file;    // extra CA (PEM), in addition to the system bundle
};

struct Credentials {
  std::string username;
  std::string password;
  std::string auth;            // base64("user:pass"), used when username is empty
  std::string identity_token;  // OAuth2 refresh token
  std::string registry_token;  // bearer token sent as-is
  // The registry these are for (the CRI AuthConfig's server_address: "host[:port]", a URL, or
  // empty for the image's own registry). Never sent to another registry or to a mirror.
  std::string server_address;
};

struct RegistryClientOptions {
  // A transfer that receives nothing for this long fails (containerd's
  // image_pull_progress_timeout); 0 never.
  std::chrono::seconds progress_timeout{300};
};

class RegistryError : public std::runtime_error {
 public:
  enum class Kind { NotFound, Unauthorized, DigestMismatch, Network, Other };
  // (A stopped pull throws Stopped, not RegistryError.)
  RegistryError(Kind kind, const std::string& what) : std::runtime_error(what), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

class RegistryClient {
 public:
  using CredentialsLookup = std::function<std::optional<Credentials>(const std::string& registry)>;

  // `default_credentials` answers for a registry or mirror host ("[[auths]]" of the config).
  RegistryClient(std::vector<RegistryHost> hosts, CredentialsLookup default_credentials = {},
                 RegistryClientOptions options = {});
  ~RegistryClient();
  RegistryClient(const RegistryClient&) = delete;
  RegistryClient& operator=(const RegistryClient&) = delete;

  struct ManifestResponse {
    std::string body;
    std::string media_type;
    Digest digest;
    std::string endpoint;  // base URL that answered, e.g. "http://127.0.0.1:5051"
  };

  // By tag or (when ref.digest is set) by digest; the body's digest is verified. Throws
  // RegistryError "pull <ref>: <reason>", or Stopped when `stop` says so. `creds` go to the
  // image's own registry only (and only when their server_address names it); mirrors get their
  // own entry of the default credentials.
  ManifestResponse fetch_manifest(const Reference& ref, const std::optional<Credentials>& creds,
                                  const StopToken& stop = {});
  ManifestResponse fetch_manifest_by_digest(const Reference& ref, const Digest& digest,
                                            const std::optional<Credentials>& creds,
                                            const StopToken& stop = {});
  // Streams the blob into store (verified on commit). Returns at once when already present;
  // concurrent calls for one digest download it once (a waiter gives up on its own `stop`).
  // Thread-safe.
  void fetch_blob(const Reference& ref, const Descriptor& desc, const ContentStore& store,
                  const std::optional<Credentials>& creds, const StopToken& stop = {});

  // Blob bodies received with status 200 (for tests and metrics).
  uint64_t blob_downloads() const { return blob_downloads_.load(); }

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
  std::atomic<uint64_t> blob_downloads_{0};
};

namespace detail {
// A parsed WWW-Authenticate challenge: scheme "bearer"/"basic" (lower case) and its parameters
// (keys lower case).
struct AuthChallenge {
  std::string scheme;
  std::map<std::string, std::string> params;
};
std::vector<AuthChallenge> parse_www_authenticate(const std::string& header);
}  // namespace detail

}  // namespace hanok::images
