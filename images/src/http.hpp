// Private: one HTTP request on libcurl (easy handle per request, shared connection cache).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "images/stop_token.hpp"

namespace hanok::images::http {

struct Request {
  std::string method = "GET";
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;                  // sent for POST
  bool insecure = false;             // skip TLS verification
  std::string ca_file;               // extra CA, with the system bundle
  size_t max_body = 4 << 20;         // for bodies kept in memory
  const StopToken* stop = nullptr;   // checked while the transfer runs (Stopped is thrown)
  // A transfer that receives nothing for this long fails (0: never), as containerd's
  // image_pull_progress_timeout.
  std::chrono::seconds progress_timeout{0};
};

struct Response {
  long status = 0;
  std::map<std::string, std::string> headers;  // lower-case names, last value wins
  std::string body;                            // unless streamed to a sink
  std::string effective_url;
  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

// A transport failure (no HTTP answer): connect, TLS, timeout, reset.
class TransportError : public std::runtime_error {
 public:
  TransportError(const std::string& what, bool transient, bool tls)
      : std::runtime_error(what), transient_(transient), tls_(tls) {}
  bool transient() const { return transient_; }
  bool tls() const { return tls_; }

 private:
  bool transient_;
  bool tls_;
};

// Receives the body of a 200 response (for other statuses the body goes to Response::body).
using Sink = std::function<void(const char* data, size_t size)>;

// One attempt, no retries. Throws TransportError, or rethrows what the sink threw.
Response perform(const Request& request, const Sink& sink = {});

std::string base64_encode(const std::string& data);
std::string base64_decode(const std::string& data);  // throws std::invalid_argument
std::string url_escape(const std::string& text);

}  // namespace hanok::images::http
