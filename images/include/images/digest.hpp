// Content digests ("sha256:<64 hex>") and streaming SHA-256 (OpenSSL EVP).
#pragma once

#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

namespace hanok::images {

class DigestError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// A validated digest. Only sha256 is accepted (the registry and OCI default).
class Digest {
 public:
  // Throws DigestError: `invalid digest "sha256:xyz": ...`.
  static Digest parse(std::string_view text);
  const std::string& str() const { return text_; }
  std::string_view hex() const { return std::string_view(text_).substr(7); }
  bool operator==(const Digest& other) const = default;
  auto operator<=>(const Digest& other) const = default;

 private:
  std::string text_;
};

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(const void* data, size_t size);
  Digest finish();  // once

 private:
  struct State;
  std::unique_ptr<State> state_;
};

Digest sha256_of(std::string_view data);

}  // namespace hanok::images
