// Private to cri/: TLS for the streaming server (OpenSSL). A TLS connection is terminated by a
// thread of its own that moves bytes between the TLS session and one end of a socketpair; the
// streaming code reads and writes the other end as it would a plain connection.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>

#include "isolate/unique_fd.hpp"

namespace hanok::cri {

class TlsContext {
 public:
  // Loads the certificate chain and key (PEM); throws naming the file when they do not load or
  // do not match. TLS 1.2 at least.
  TlsContext(const std::string& cert_file, const std::string& key_file);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  // The TLS handshake on `connection` (within 10 s), then a terminating thread: returns the
  // plain end. Throws when the handshake fails.
  isolate::UniqueFd terminate(isolate::UniqueFd connection);

 private:
  SSL_CTX* context_ = nullptr;
};

}  // namespace hanok::cri
