// Digest parsing and streaming SHA-256 over OpenSSL EVP.
#include "images/digest.hpp"

#include <openssl/evp.h>

#include <array>

namespace hanok::images {

namespace {

constexpr std::string_view kPrefix = "sha256:";
constexpr size_t kHexLength = 64;

[[noreturn]] void invalid(std::string_view text, std::string_view reason) {
  throw DigestError("invalid digest \"" + std::string(text) + "\": " + std::string(reason));
}

bool is_lower_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

}  // namespace

Digest Digest::parse(std::string_view text) {
  auto colon = text.find(':');
  if (colon == std::string_view::npos) invalid(text, "missing algorithm (want sha256:<hex>)");
  if (text.substr(0, colon + 1) != kPrefix) {
    invalid(text,
            "unsupported algorithm \"" + std::string(text.substr(0, colon)) + "\" (only sha256)");
  }
  std::string_view hex = text.substr(kPrefix.size());
  if (hex.size() != kHexLength) {
    invalid(text, "want 64 hex characters, have " + std::to_string(hex.size()));
  }
  for (char c : hex) {
    if (!is_lower_hex(c)) invalid(text, "not lowercase hex");
  }
  Digest digest;
  digest.text_ = std::string(text);
  return digest;
}

struct Sha256::State {
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx;
  bool finished = false;
};

Sha256::Sha256() : state_(std::make_unique<State>()) {
  state_->ctx.reset(EVP_MD_CTX_new());
  if (!state_->ctx) throw std::runtime_error("sha256: EVP_MD_CTX_new failed");
  if (EVP_DigestInit_ex(state_->ctx.get(), EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("sha256: EVP_DigestInit_ex failed");
  }
}

Sha256::~Sha256() = default;

void Sha256::update(const void* data, size_t size) {
  if (state_->finished) throw std::logic_error("sha256: update after finish");
  if (size == 0) return;
  if (EVP_DigestUpdate(state_->ctx.get(), data, size) != 1) {
    throw std::runtime_error("sha256: EVP_DigestUpdate failed");
  }
}

Digest Sha256::finish() {
  if (state_->finished) throw std::logic_error("sha256: finish called twice");
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(state_->ctx.get(), md.data(), &length) != 1 || length != 32) {
    throw std::runtime_error("sha256: EVP_DigestFinal_ex failed");
  }
  state_->finished = true;
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string text(kPrefix);
  for (unsigned int i = 0; i < length; ++i) {
    text.push_back(kDigits[md[i] >> 4]);
    text.push_back(kDigits[md[i] & 0xf]);
  }
  return Digest::parse(text);
}

Digest sha256_of(std::string_view data) {
  Sha256 sha;
  sha.update(data.data(), data.size());
  return sha.finish();
}

}  // namespace hanok::images
