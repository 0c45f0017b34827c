#include "stream_tls.hpp"

#include <openssl/err.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <thread>

#include "isolate/error.hpp"

namespace hanok::cri {

namespace {

std::string openssl_error() {
  unsigned long code = ERR_get_error();
  if (code == 0) return "unknown TLS error";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  ERR_clear_error();
  return text;
}

bool write_all(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

bool ssl_write_all(SSL* ssl, const char* data, size_t size) {
  while (size > 0) {
    int n = SSL_write(ssl, data, static_cast<int>(size));
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

// Moves bytes both ways until either side ends. Blocking: a client that stalls its TLS records
// stalls only its own connection (sends time out after the socket's SO_SNDTIMEO).
void pump(SSL* ssl, int tcp, int plain) {
  char buffer[16 * 1024];
  for (;;) {
    pollfd fds[2] = {{tcp, POLLIN, 0}, {plain, POLLIN, 0}};
    if (SSL_pending(ssl) == 0) {
      int ready = ::poll(fds, 2, -1);
      if (ready < 0 && errno == EINTR) continue;
      if (ready < 0) return;
    } else {
      fds[0].revents = POLLIN;
      fds[1].revents = 0;
    }
    if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      int n = SSL_read(ssl, buffer, sizeof buffer);
      if (n <= 0) return;
      if (!write_all(plain, buffer, static_cast<size_t>(n))) return;
    }
    if ((fds[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      ssize_t n = ::recv(plain, buffer, sizeof buffer, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;
      if (!ssl_write_all(ssl, buffer, static_cast<size_t>(n))) return;
    }
  }
}

}  // namespace

TlsContext::TlsContext(const std::string& cert_file, const std::string& key_file) {
  context_ = SSL_CTX_new(TLS_server_method());
  if (context_ == nullptr) throw std::runtime_error("TLS context: " + openssl_error());
  SSL_CTX_set_min_proto_version(context_, TLS1_2_VERSION);
  SSL_CTX_set_mode(context_, SSL_MODE_AUTO_RETRY);
  if (SSL_CTX_use_certificate_chain_file(context_, cert_file.c_str()) != 1) {
    std::string error = openssl_error();
    SSL_CTX_free(context_);
    throw std::invalid_argument("streaming_tls_cert " + cert_file + ": " + error);
  }
  if (SSL_CTX_use_PrivateKey_file(context_, key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(context_) != 1) {
    std::string error = openssl_error();
    SSL_CTX_free(context_);
    throw std::invalid_argument("streaming_tls_key " + key_file + ": " + error);
  }
}

TlsContext::~TlsContext() {
  SSL_CTX_free(context_);
}

isolate::UniqueFd TlsContext::terminate(isolate::UniqueFd connection) {
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(context_), SSL_free);
  if (!ssl) throw std::runtime_error("TLS session: " + openssl_error());
  timeval handshake_timeout{10, 0};
  ::setsockopt(connection.get(), SOL_SOCKET, SO_RCVTIMEO, &handshake_timeout,
               sizeof handshake_timeout);
  SSL_set_fd(ssl.get(), connection.get());
  if (SSL_accept(ssl.get()) != 1) throw std::runtime_error("TLS handshake: " + openssl_error());
  timeval no_timeout{0, 0};
  ::setsockopt(connection.get(), SOL_SOCKET, SO_RCVTIMEO, &no_timeout, sizeof no_timeout);
  timeval send_timeout{60, 0};
  ::setsockopt(connection.get(), SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof send_timeout);
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
    isolate::throw_sys("socketpair for a TLS connection", "");
  }
  isolate::UniqueFd plain(pair[0]);
  isolate::UniqueFd inner(pair[1]);
  std::thread([ssl = std::move(ssl), tcp = std::move(connection),
               inner = std::move(inner)]() mutable {
    pump(ssl.get(), tcp.get(), inner.get());
    SSL_shutdown(ssl.get());
    ::shutdown(inner.get(), SHUT_RDWR);  // the session sees the end
  }).detach();
  return plain;
}

}  // namespace hanok::cri
