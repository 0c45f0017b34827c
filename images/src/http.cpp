#include "http.hpp"

#include "isolate/text.hpp"

#include <curl/curl.h>
#include <openssl/evp.h>

#include <array>
#include <cctype>
#include <chrono>
#include <exception>
#include <memory>
#include <mutex>

namespace hanok::images::http {
namespace {

// curl_global_init once per process, and one share handle (connections, DNS, TLS sessions)
// protected by one mutex per curl lock kind.
struct Global {
  CURLSH* share = nullptr;
  std::array<std::mutex, CURL_LOCK_DATA_LAST> locks;

  Global() {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    share = curl_share_init();
    if (share != nullptr) {
      curl_share_setopt(share, CURLSHOPT_LOCKFUNC, &Global::lock);
      curl_share_setopt(share, CURLSHOPT_UNLOCKFUNC, &Global::unlock);
      curl_share_setopt(share, CURLSHOPT_USERDATA, this);
      curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
      curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
      curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
    }
  }
  static void lock(CURL*, curl_lock_data data, curl_lock_access, void* user) {
    static_cast<Global*>(user)->locks[data].lock();
  }
  static void unlock(CURL*, curl_lock_data data, void* user) {
    static_cast<Global*>(user)->locks[data].unlock();
  }
};

Global& global() {
  static Global* g = new Global();  // never destroyed: handles may outlive static destructors
  return *g;
}

struct EasyDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

struct Transfer {
  CURL* curl = nullptr;
  const Request* request = nullptr;
  const Sink* sink = nullptr;
  Response response;
  std::exception_ptr error;
  bool too_large = false;
  curl_off_t last_received = -1;
  std::chrono::steady_clock::time_point last_progress = std::chrono::steady_clock::now();
};

// Called by curl often (also while nothing arrives): a stopped caller or a stalled transfer ends
// it.
int on_progress(void* user, curl_off_t, curl_off_t received, curl_off_t, curl_off_t sent) {
  auto* t = static_cast<Transfer*>(user);
  const Request& r = *t->request;
  try {
    if (r.stop != nullptr) r.stop->check(r.method + " " + r.url);
  } catch (...) {
    t->error = std::current_exception();
    return 1;
  }
  auto now = std::chrono::steady_clock::now();
  if (received + sent != t->last_received) {
    t->last_received = received + sent;
    t->last_progress = now;
  } else if (r.progress_timeout.count() > 0 && now - t->last_progress >= r.progress_timeout) {
    t->error = std::make_exception_ptr(TransportError(
        r.method + " " + r.url + ": no progress for " + std::to_string(r.progress_timeout.count()) +
            " s (image_pull_progress_timeout)",
        false, false));
    return 1;
  }
  return 0;
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) {
    t->response.headers.clear();  // a new response (redirect, 100 Continue)
    return size * n;
  }
  auto colon = line.find(':');
  if (colon == std::string::npos) return size * n;
  std::string name = line.substr(0, colon);
  for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  t->response.headers[name] = std::string(isolate::trim(std::string_view(line).substr(colon + 1)));
  return size * n;
}

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t len = size * n;
  long status = 0;
  curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
  if (status == 200 && t->sink != nullptr && *t->sink) {
    try {
      (*t->sink)(data, len);
    } catch (...) {
      t->error = std::current_exception();
      return 0;  // aborts the transfer
    }
    return len;
  }
  if (t->response.body.size() + len > t->request->max_body) {
    t->too_large = true;
    return 0;
  }
  t->response.body.append(data, len);
  return len;
}

bool is_transient(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return true;
    default:
      return false;
  }
}

bool is_tls(CURLcode code) {
  switch (code) {
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CIPHER:
      return true;
    default:
      return false;
  }
}

}  // namespace

Response perform(const Request& request, const Sink& sink) {
  Global& g = global();
  std::unique_ptr<CURL, EasyDeleter> easy(curl_easy_init());
  if (!easy) {
    throw TransportError(request.method + " " + request.url + ": curl_easy_init failed", false,
                         false);
  }
  CURL* c = easy.get();
  Transfer t;
  t.curl = c;
  t.request = &request;
  t.sink = &sink;

  std::unique_ptr<curl_slist, SlistDeleter> headers;
  for (const auto& h : request.headers) {
    curl_slist* next = curl_slist_append(headers.get(), h.c_str());
    if (next == nullptr) throw std::bad_alloc();
    (void)headers.release();
    headers.reset(next);
  }
  char errbuf[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(c, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  if (g.share != nullptr) curl_easy_setopt(c, CURLOPT_SHARE, g.share);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);  // blobs redirect to object stores
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, &on_progress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &t);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "hanok/0.1");
  if (request.method == "POST") {
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, request.body.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(request.body.size()));
  } else if (request.method == "HEAD") {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (request.method != "GET") {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, request.method.c_str());
  }
  if (request.insecure) {
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
  } else if (!request.ca_file.empty()) {
    curl_easy_setopt(c, CURLOPT_CAINFO, request.ca_file.c_str());
    curl_easy_setopt(c, CURLOPT_CAPATH, "/etc/ssl/certs");
  }
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, &on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);

  CURLcode rc = curl_easy_perform(c);
  if (t.error) std::rethrow_exception(t.error);
  if (t.too_large) {
    throw TransportError(request.method + " " + request.url + ": response larger than " +
                             std::to_string(request.max_body) + " bytes",
                         false, false);
  }
  if (rc != CURLE_OK) {
    std::string detail = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc);
    throw TransportError(request.method + " " + request.url + ": " + detail, is_transient(rc),
                         is_tls(rc));
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &t.response.status);
  char* eff = nullptr;
  if (curl_easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &eff) == CURLE_OK && eff != nullptr) {
    t.response.effective_url = eff;
  }
  return std::move(t.response);
}

std::string base64_encode(const std::string& data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(data.data()),
                          static_cast<int>(data.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string base64_decode(const std::string& data) {
  std::string in;
  for (char ch : data) {
    if (!std::isspace(static_cast<unsigned char>(ch))) in += ch;
  }
  if (in.size() % 4 != 0) throw std::invalid_argument("invalid base64 (length)");
  std::string out(3 * in.size() / 4 + 1, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  if (n < 0) throw std::invalid_argument("invalid base64");
  size_t len = static_cast<size_t>(n);
  if (!in.empty() && in.back() == '=') --len;
  if (in.size() >= 2 && in[in.size() - 2] == '=') --len;
  out.resize(len);
  return out;
}

std::string url_escape(const std::string& text) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char ch : text) {
    if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
      out += static_cast<char>(ch);
    } else {
      out += '%';
      out += hex[ch >> 4];
      out += hex[ch & 15];
    }
  }
  return out;
}

}  // namespace hanok::images::http
