#include "images/registry_client.hpp"

#include <chrono>
#include <future>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <tuple>
#include <utility>

#include "http.hpp"

namespace hanok::images {
namespace {

using Kind = RegistryError::Kind;

constexpr int kTries = 3;
constexpr std::chrono::milliseconds kFirstBackoff{200};

struct Endpoint {
  std::string base;  // "https://host:port" (no trailing '/')
  bool insecure = false;
  std::string ca_file;
  bool mirror = false;
  bool http_fallback_next = false;  // on a transport error, the next endpoint is the http twin
  std::string cred_host;            // what default_credentials is asked about
};

std::string host_of_url(const std::string& url) {
  auto p = url.find("://");
  std::string rest = p == std::string::npos ? url : url.substr(p + 3);
  return rest.substr(0, rest.find('/'));
}

bool is_localhost(const std::string& domain) {
  std::string host = domain;
  if (!host.empty() && host.front() == '[') {
    host = host.substr(1, host.find(']') - 1);
  } else if (auto c = host.rfind(':'); c != std::string::npos) {
    host = host.substr(0, c);
  }
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

std::string trim_slash(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

// "user:pass" from the credentials, or empty.
std::optional<std::pair<std::string, std::string>> user_pass(const Credentials& c) {
  if (!c.username.empty()) return std::make_pair(c.username, c.password);
  if (c.auth.empty()) return std::nullopt;
  std::string decoded;
  try {
    decoded = http::base64_decode(c.auth);
  } catch (const std::exception& e) {
    throw RegistryError(Kind::Unauthorized, std::string("credentials: auth: ") + e.what());
  }
  auto colon = decoded.find(':');
  if (colon == std::string::npos) {
    throw RegistryError(Kind::Unauthorized, "credentials: auth: not base64 of \"user:password\"");
  }
  return std::make_pair(decoded.substr(0, colon), decoded.substr(colon + 1));
}

// The registry's own error message ({"errors":[{"code":..,"message":..}]}), if any.
std::string error_message(const http::Response& r) {
  auto doc = nlohmann::json::parse(r.body, nullptr, false);
  if (doc.is_object() && doc.contains("errors") && doc["errors"].is_array() &&
      !doc["errors"].empty()) {
    const auto& e = doc["errors"][0];
    if (e.is_object() && e.contains("message") && e["message"].is_string()) {
      return e["message"].get<std::string>();
    }
  }
  return {};
}

void check_status(const http::Response& r, const std::string& what) {
  if (r.status == 200) return;
  std::string msg = error_message(r);
  std::string suffix = msg.empty() ? std::string() : " (" + msg + ")";
  std::string prefix = what.empty() ? std::string() : what + ": ";
  if (r.status == 404) throw RegistryError(Kind::NotFound, prefix + "not found" + suffix);
  if (r.status == 403) throw RegistryError(Kind::Unauthorized, prefix + "denied" + suffix);
  throw RegistryError(r.status >= 500 ? Kind::Network : Kind::Other,
                      prefix + "HTTP " + std::to_string(r.status) + suffix);
}

// Sleeps `pause`, or less when `stop` says so (then throws Stopped).
void pause_unless_stopped(std::chrono::milliseconds pause, const StopToken& stop,
                          const std::string& what) {
  auto until = std::chrono::steady_clock::now() + pause;
  for (;;) {
    stop.check(what);
    auto now = std::chrono::steady_clock::now();
    if (now >= until) return;
    std::this_thread::sleep_for(
        std::min<std::chrono::steady_clock::duration>(until - now, std::chrono::milliseconds(50)));
  }
}

// "https://index.docker.io/v1/", "registry-1.docker.io", "docker.io" -> "docker.io"; a URL or
// "host[:port]/path" -> "host[:port]".
std::string registry_host(const std::string& address) {
  std::string host = host_of_url(address);
  for (auto& c : host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (host == "index.docker.io" || host == "registry-1.docker.io") return "docker.io";
  return host;
}

bool known_manifest_type(const std::string& t) {
  return t == kOciManifest || t == kOciIndex || t == kDockerManifest || t == kDockerManifestList;
}

}  // namespace

struct RegistryClient::Impl {
  std::vector<RegistryHost> hosts;
  CredentialsLookup lookup;
  RegistryClientOptions options;

  std::mutex auth_mu;
  // (base, scope, credentials fingerprint) -> Authorization value; basic auth has no scope.
  std::map<std::tuple<std::string, std::string, std::string>, std::string> auth_cache;

  std::mutex inflight_mu;
  std::map<std::string, std::shared_future<void>> inflight;  // blob digest -> download

  std::vector<Endpoint> endpoints(const Reference& ref) const {
    const std::string name = ref.domain + "/" + ref.path;
    const RegistryHost* best = nullptr;
    size_t best_len = 0;
    for (const auto& h : hosts) {
      std::string p = trim_slash(h.prefix);
      if (p.empty()) continue;
      bool match = name == p || (name.size() > p.size() && name.compare(0, p.size(), p) == 0 &&
                                 name[p.size()] == '/');
      if (match && (best == nullptr || p.size() > best_len)) {
        best = &h;
        best_len = p.size();
      }
    }
    std::vector<Endpoint> out;
    if (best != nullptr) {
      for (const auto& m : best->mirrors) {
        std::string base = trim_slash(m);
        if (base.empty()) continue;
        if (base.find("://") == std::string::npos) {
          base = (best->insecure ? "http://" : "https://") + base;
        }
        out.push_back(
            Endpoint{base, best->insecure, best->ca_file, true, false, host_of_url(base)});
      }
    }
    const std::string host = ref.domain == "docker.io" ? "registry-1.docker.io" : ref.domain;
    bool insecure = best != nullptr ? best->insecure : is_localhost(ref.domain);
    bool http_too = best != nullptr ? best->insecure : is_localhost(ref.domain);
    std::string ca = best != nullptr ? best->ca_file : std::string();
    out.push_back(Endpoint{"https://" + host, insecure, ca, false, http_too, ref.domain});
    if (http_too) out.push_back(Endpoint{"http://" + host, true, ca, false, false, ref.domain});
    return out;
  }

  // The caller's credentials go to the image's own registry only, and only when they are for
  // it; a mirror (plain HTTP, someone else's) gets the configured ones for its own host alone.
  std::optional<Credentials> creds_for(const Endpoint& ep,
                                       const std::optional<Credentials>& given) {
    if (given && !ep.mirror &&
        (given->server_address.empty() ||
         registry_host(given->server_address) == registry_host(ep.cred_host))) {
      return given;
    }
    if (lookup) return lookup(ep.cred_host);
    return std::nullopt;
  }

  // One request with retries on transient failures, 429 and 5xx; `stop` ends it (also while it
  // waits to retry) with Stopped.
  http::Response send(const http::Request& base_req, const std::optional<std::string>& authz,
                      const std::function<http::Sink()>& sink_factory, const StopToken& stop) {
    http::Request req = base_req;
    if (authz) req.headers.push_back("Authorization: " + *authz);
    req.stop = &stop;
    req.progress_timeout = options.progress_timeout;
    auto backoff = kFirstBackoff;
    for (int attempt = 1;; ++attempt) {
      try {
        http::Sink sink = sink_factory ? sink_factory() : http::Sink();
        http::Response r = http::perform(req, sink);
        if ((r.status == 429 || r.status >= 500) && attempt < kTries) {
          pause_unless_stopped(backoff, stop, req.url);
          backoff *= 2;
          continue;
        }
        return r;
      } catch (const http::TransportError& e) {
        if (!e.transient() || attempt >= kTries) throw;
        pause_unless_stopped(backoff, stop, req.url);
        backoff *= 2;
      }
    }
  }

  // Answers a 401 challenge: the Authorization value to retry with.
  std::optional<std::string> authorize(const Endpoint& ep, const http::Response& r,
                                       const std::string& scope,
                                       const std::optional<Credentials>& creds,
                                       const StopToken& stop) {
    auto challenges = detail::parse_www_authenticate(r.header("www-authenticate"));
    const detail::AuthChallenge* bearer = nullptr;
    const detail::AuthChallenge* basic = nullptr;
    for (const auto& c : challenges) {
      if (c.scheme == "bearer" && bearer == nullptr) bearer = &c;
      if (c.scheme == "basic" && basic == nullptr) basic = &c;
    }
    std::optional<std::pair<std::string, std::string>> up;
    if (creds) up = user_pass(*creds);
    if (bearer != nullptr) {
      if (creds && !creds->registry_token.empty()) return "Bearer " + creds->registry_token;
      return "Bearer " + fetch_token(ep, *bearer, scope, creds, up, stop);
    }
    if (basic != nullptr) {
      if (!up) return std::nullopt;
      return "Basic " + http::base64_encode(up->first + ":" + up->second);
    }
    return std::nullopt;
  }

  std::string fetch_token(const Endpoint& ep, const detail::AuthChallenge& ch,
                          const std::string& scope, const std::optional<Credentials>& creds,
                          const std::optional<std::pair<std::string, std::string>>& up,
                          const StopToken& stop) {
    auto it = ch.params.find("realm");
    if (it == ch.params.end() || it->second.empty()) {
      throw RegistryError(Kind::Unauthorized, "bearer challenge without a realm");
    }
    const std::string realm = it->second;
    std::string service = ch.params.count("service") ? ch.params.at("service") : std::string();
    std::string want_scope = ch.params.count("scope") ? ch.params.at("scope") : scope;

    http::Request req;
    req.url = realm;
    req.ca_file = ep.ca_file;
    req.insecure = ep.insecure && host_of_url(realm) == host_of_url(ep.base);
    req.max_body = 1 << 20;
    if (creds && !creds->identity_token.empty()) {
      req.method = "POST";
      req.headers.push_back("Content-Type: application/x-www-form-urlencoded");
      req.body = "grant_type=refresh_token&client_id=hanok&refresh_token=" +
                 http::url_escape(creds->identity_token) + "&service=" + http::url_escape(service) +
                 "&scope=" + http::url_escape(want_scope);
    } else {
      std::string q;
      if (!service.empty()) q += "service=" + http::url_escape(service);
      if (!want_scope.empty())
        q += std::string(q.empty() ? "" : "&") + "scope=" + http::url_escape(want_scope);
      if (!q.empty()) req.url += (realm.find('?') == std::string::npos ? "?" : "&") + q;
      if (up) {
        req.headers.push_back("Authorization: Basic " +
                              http::base64_encode(up->first + ":" + up->second));
      }
    }
    http::Response r = send(req, std::nullopt, {}, stop);
    if (r.status == 401 || r.status == 403) {
      throw RegistryError(Kind::Unauthorized, up || (creds && !creds->identity_token.empty())
                                                  ? "unauthorized: wrong username or password"
                                                  : "unauthorized: authentication required");
    }
    check_status(r, "token server " + realm);
    auto doc = nlohmann::json::parse(r.body, nullptr, false);
    for (const char* key : {"token", "access_token"}) {
      if (doc.is_object() && doc.contains(key) && doc[key].is_string() &&
          !doc[key].get<std::string>().empty()) {
        return doc[key].get<std::string>();
      }
    }
    throw RegistryError(Kind::Unauthorized, "token server " + realm + ": no token in the answer");
  }

  // GET base+path on one endpoint, authenticating on a 401 challenge.
  http::Response request(const Endpoint& ep, const std::string& path,
                         std::vector<std::string> headers, const std::string& scope,
                         const std::optional<Credentials>& given,
                         const std::function<http::Sink()>& sink_factory, const StopToken& stop) {
    std::optional<Credentials> creds = creds_for(ep, given);
    http::Request req;
    req.url = ep.base + path;
    req.headers = std::move(headers);
    req.insecure = ep.insecure;
    req.ca_file = ep.ca_file;

    // Cached tokens belong to the credentials that got them.
    const std::string who = creds ? sha256_of(creds->username + '\n' + creds->password + '\n' +
                                              creds->auth + '\n' + creds->identity_token)
                                        .str()
                                  : std::string();
    std::optional<std::string> authz;
    if (creds && !creds->registry_token.empty()) {
      authz = "Bearer " + creds->registry_token;
    } else {
      std::lock_guard lock(auth_mu);
      auto it = auth_cache.find({ep.base, scope, who});
      if (it == auth_cache.end()) it = auth_cache.find({ep.base, "", who});
      if (it != auth_cache.end()) authz = it->second;
    }
    http::Response r = send(req, authz, sink_factory, stop);
    if (r.status != 401) return r;

    std::optional<std::string> fresh = authorize(ep, r, scope, creds, stop);
    if (!fresh) {
      throw RegistryError(Kind::Unauthorized, "unauthorized: authentication required");
    }
    r = send(req, fresh, sink_factory, stop);
    if (r.status == 401) {
      bool have_creds = creds && (!creds->username.empty() || !creds->auth.empty() ||
                                  !creds->identity_token.empty() || !creds->registry_token.empty());
      throw RegistryError(Kind::Unauthorized, have_creds
                                                  ? "unauthorized: wrong username or password"
                                                  : "unauthorized: authentication required");
    }
    if (r.status != 403) {
      std::lock_guard lock(auth_mu);
      bool basic = fresh->rfind("Basic ", 0) == 0;
      auth_cache[{ep.base, basic ? std::string() : scope, who}] = *fresh;
    }
    return r;
  }

  // Runs fn on each endpoint in order; mirrors fall through on any error, the https endpoint
  // falls back to http on a transport error. Throws "pull <ref>: <reason>".
  template <typename Fn>
  auto each_endpoint(const Reference& ref, Fn fn) -> decltype(fn(std::declval<Endpoint>())) {
    auto eps = endpoints(ref);
    std::string mirror_errors;
    for (size_t i = 0; i < eps.size(); ++i) {
      const Endpoint& ep = eps[i];
      bool last = i + 1 == eps.size();
      Kind kind = Kind::Other;
      std::string reason;
      bool transport = false;
      try {
        return fn(ep);
      } catch (const RegistryError& e) {
        kind = e.kind();
        reason = e.what();
      } catch (const http::TransportError& e) {
        kind = Kind::Network;
        reason = e.what();
        transport = true;
      }
      if (!last && (ep.mirror || (transport && ep.http_fallback_next))) {
        if (ep.mirror) mirror_errors += "; mirror " + ep.base + ": " + reason;
        continue;
      }
      std::string msg = "pull " + ref.str() + ": " + reason;
      if (!mirror_errors.empty()) msg += " (also tried" + mirror_errors.substr(1) + ")";
      throw RegistryError(kind, msg);
    }
    throw RegistryError(Kind::Other, "pull " + ref.str() + ": no endpoint");
  }

  ManifestResponse manifest(const Reference& ref, const std::string& reference,
                            const std::optional<Digest>& expected,
                            const std::optional<Credentials>& creds, const StopToken& stop) {
    const std::string scope = "repository:" + ref.path + ":pull";
    return each_endpoint(ref, [&](const Endpoint& ep) {
      std::vector<std::string> headers = {std::string("Accept: ") + kOciIndex + ", " +
                                          kOciManifest + ", " + kDockerManifestList + ", " +
                                          kDockerManifest};
      http::Response r = request(ep, "/v2/" + ref.path + "/manifests/" + reference,
                                 std::move(headers), scope, creds, {}, stop);
      check_status(r, expected ? "manifest " + expected->str() : std::string());
      Digest got = sha256_of(r.body);
      if (expected && got != *expected) {
        throw RegistryError(Kind::DigestMismatch, "manifest " + expected->str() +
                                                      ": digest mismatch (got " + got.str() + ")");
      }
      if (std::string dcd = r.header("docker-content-digest"); !expected && !dcd.empty()) {
        std::optional<Digest> sent;
        try {
          sent = Digest::parse(dcd);
        } catch (const DigestError&) {
          // a digest we do not verify (sha512): the body's own sha256 is what we use
        }
        if (sent && *sent != got) {
          throw RegistryError(Kind::DigestMismatch,
                              "manifest " + reference + ": digest mismatch (registry says " +
                                  sent->str() + ", body is " + got.str() + ")");
        }
      }
      std::string type = r.header("content-type");
      type = type.substr(0, type.find(';'));
      while (!type.empty() && type.back() == ' ') type.pop_back();
      if (!known_manifest_type(type)) {
        auto doc = nlohmann::json::parse(r.body, nullptr, false);
        if (doc.is_object() && doc.contains("mediaType") && doc["mediaType"].is_string()) {
          type = doc["mediaType"].get<std::string>();
        } else if (doc.is_object() && doc.contains("manifests")) {
          type = kOciIndex;
        } else if (doc.is_object() && doc.contains("layers")) {
          type = kOciManifest;
        }
      }
      if (!known_manifest_type(type)) {
        throw RegistryError(Kind::Other, "unsupported manifest media type \"" + type + "\"");
      }
      return ManifestResponse{std::move(r.body), type, got, ep.base};
    });
  }
};

RegistryClient::RegistryClient(std::vector<RegistryHost> hosts,
                               CredentialsLookup default_credentials, RegistryClientOptions options)
    : impl_(std::make_unique<Impl>()) {
  impl_->hosts = std::move(hosts);
  impl_->lookup = std::move(default_credentials);
  impl_->options = options;
}

RegistryClient::~RegistryClient() = default;

RegistryClient::ManifestResponse RegistryClient::fetch_manifest(
    const Reference& ref, const std::optional<Credentials>& creds, const StopToken& stop) {
  if (ref.digest.empty()) return impl_->manifest(ref, ref.tag, std::nullopt, creds, stop);
  std::optional<Digest> d;
  try {
    d = Digest::parse(ref.digest);
  } catch (const DigestError& e) {
    throw RegistryError(Kind::Other, "pull " + ref.str() + ": " + e.what());
  }
  return impl_->manifest(ref, d->str(), d, creds, stop);
}

RegistryClient::ManifestResponse RegistryClient::fetch_manifest_by_digest(
    const Reference& ref, const Digest& digest, const std::optional<Credentials>& creds,
    const StopToken& stop) {
  return impl_->manifest(ref, digest.str(), digest, creds, stop);
}

void RegistryClient::fetch_blob(const Reference& ref, const Descriptor& desc,
                                const ContentStore& store, const std::optional<Credentials>& creds,
                                const StopToken& stop) {
  const std::string key = desc.digest.str();
  std::shared_ptr<std::promise<void>> mine;
  while (mine == nullptr) {
    if (store.has(desc.digest)) return;
    std::shared_future<void> other;
    {
      std::lock_guard lock(impl_->inflight_mu);
      auto it = impl_->inflight.find(key);
      if (it == impl_->inflight.end()) {
        mine = std::make_shared<std::promise<void>>();
        impl_->inflight.emplace(key, mine->get_future().share());
        continue;
      }
      other = it->second;
    }
    // Another pull downloads it: wait for that (giving up on our own stop), then look again:
    // present, or (it failed) our turn.
    while (other.wait_for(std::chrono::milliseconds(50)) != std::future_status::ready) {
      stop.check("wait for blob " + key);
    }
  }
  struct Done {
    Impl* impl;
    const std::string& key;
    std::promise<void>& promise;
    ~Done() {
      std::lock_guard lock(impl->inflight_mu);
      impl->inflight.erase(key);
      promise.set_value();
    }
  } done{impl_.get(), key, *mine};
  if (store.has(desc.digest)) return;

  const std::string scope = "repository:" + ref.path + ":pull";
  impl_->each_endpoint(ref, [&](const Endpoint& ep) {
    std::unique_ptr<BlobWriter> writer;
    bool counted = false;
    auto factory = [&]() -> http::Sink {
      writer.reset();
      counted = false;
      return [&](const char* data, size_t size) {
        if (!counted) {
          counted = true;
          ++blob_downloads_;
        }
        if (!writer) writer = store.writer(desc.digest, desc.size);
        if (writer->written() + size > desc.size) {
          throw RegistryError(Kind::DigestMismatch, "blob " + key + ": more than the expected " +
                                                        std::to_string(desc.size) + " bytes");
        }
        writer->write(data, size);
      };
    };
    http::Response r =
        impl_->request(ep, "/v2/" + ref.path + "/blobs/" + key, {}, scope, creds, factory, stop);
    check_status(r, "blob " + key);
    if (!counted) ++blob_downloads_;
    if (!writer) writer = store.writer(desc.digest, desc.size);
    try {
      writer->commit();
    } catch (const std::exception& e) {
      std::string what = e.what();
      throw RegistryError(
          what.find("mismatch") != std::string::npos ? Kind::DigestMismatch : Kind::Other, what);
    }
    return 0;
  });
}

}  // namespace hanok::images
