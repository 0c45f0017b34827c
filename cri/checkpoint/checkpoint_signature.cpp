#include "checkpoint_signature.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "images/digest.hpp"
#include "isolate/error.hpp"
#include "isolate/files.hpp"
#include "isolate/in_root.hpp"
#include "isolate/tree_walk.hpp"
#include "isolate/unique_fd.hpp"

namespace hanok::cri {

namespace {

using nlohmann::json;
constexpr size_t kKeySize = 32;
constexpr const char* kKeyFile = "checkpoint-signing.key";

std::string hex(const unsigned char* data, size_t size) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < size; ++i) {
    out += kHex[data[i] >> 4];
    out += kHex[data[i] & 15];
  }
  return out;
}

std::string read_key(const std::string& path) {
  isolate::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) isolate::throw_sys("open the checkpoint signing key", path);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) isolate::throw_sys("stat", path);
  if (!S_ISREG(st.st_mode) || st.st_uid != ::geteuid() || (st.st_mode & 077) != 0 ||
      st.st_size != static_cast<off_t>(kKeySize)) {
    throw std::runtime_error(path + ": not a checkpoint signing key (" + std::to_string(kKeySize) +
                             " bytes, a regular file of hanokd's user that only it can read)");
  }
  std::string key(kKeySize, '\0');
  if (::read(fd.get(), key.data(), key.size()) != static_cast<ssize_t>(key.size())) {
    isolate::throw_sys("read", path);
  }
  return key;
}

// The archive's entries as the signature lists them: `dir`'s tree but the signature file.
json entries_of(const std::string& dir) {
  isolate::UniqueFd top(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!top) isolate::throw_sys("open", dir);
  json entries = json::array();
  isolate::TreeWalkOptions options;
  options.sorted = true;
  isolate::walk_tree(
      top.get(),
      [&](const isolate::TreeEntry& entry) {
        if (entry.path == kCheckpointSignatureFile) return false;
        if (S_ISDIR(entry.st.st_mode)) {
          entries.push_back({{"path", entry.path}, {"type", "dir"}});
          return true;
        }
        // Anything but a regular file fails open_regular_at, naming it.
        isolate::UniqueFd file =
            isolate::open_regular_at(entry.dir_fd, entry.name, entry.st, entry.path);
        images::Sha256 hash;
        char buffer[1 << 16];
        uint64_t size = 0;
        for (;;) {
          ssize_t n = ::read(file.get(), buffer, sizeof buffer);
          if (n < 0 && errno == EINTR) continue;
          if (n < 0) isolate::throw_sys("read", dir + "/" + entry.path);
          if (n == 0) break;
          hash.update(buffer, static_cast<size_t>(n));
          size += static_cast<uint64_t>(n);
        }
        entries.push_back({{"path", entry.path},
                           {"type", "file"},
                           {"size", size},
                           {"sha256", std::string(hash.finish().hex())}});
        return false;
      },
      options);
  return entries;
}

std::string mac_of(const std::string& key, const std::string& text) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(text.data()), text.size(), out,
           &length) == nullptr) {
    throw std::runtime_error("HMAC-SHA256 of a checkpoint failed");
  }
  return hex(out, length);
}

}  // namespace

CheckpointSigner::CheckpointSigner(const std::string& root) {
  std::string path = root + "/" + kKeyFile;
  if (!isolate::path_exists(path)) {
    unsigned char bytes[kKeySize];
    if (::getrandom(bytes, sizeof bytes, 0) != static_cast<ssize_t>(sizeof bytes)) {
      isolate::throw_sys("getrandom for", path);
    }
    isolate::write_file_atomic(path, std::string_view(reinterpret_cast<char*>(bytes), kKeySize),
                               0600);
    OPENSSL_cleanse(bytes, sizeof bytes);
  }
  key_ = read_key(path);
}

void CheckpointSigner::sign(const std::string& dir) const {
  std::string entries = entries_of(dir).dump();
  json signature = {{"version", 1},
                    {"algorithm", "HMAC-SHA256"},
                    {"entries", json::parse(entries)},
                    {"mac", mac_of(key_, entries)}};
  isolate::write_file_atomic(dir + "/" + kCheckpointSignatureFile, signature.dump(), 0600);
}

void CheckpointSigner::verify(const std::string& dir, const std::string& field) const {
  auto refused = [&](const std::string& why) {
    return isolate::Error(isolate::ErrorKind::Invalid,
                          field + ": the checkpoint archive " + why +
                              " (restore_unsigned_checkpoints = true restores it anyway)");
  };
  isolate::UniqueFd top(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!top) isolate::throw_sys("open", dir);
  isolate::UniqueFd file = isolate::open_regular_in_root(top.get(), kCheckpointSignatureFile);
  if (!file) throw refused("is not signed");
  std::string text = isolate::read_file(isolate::fd_path(file.get()));
  json signature = json::parse(text, nullptr, false);
  if (!signature.is_object() || signature.value("version", 0) != 1 ||
      signature.value("algorithm", "") != "HMAC-SHA256" || !signature.contains("entries") ||
      !signature["entries"].is_array() || !signature.contains("mac") ||
      !signature["mac"].is_string()) {
    throw refused("has a malformed signature");
  }
  std::string signed_entries = signature["entries"].dump();
  std::string expected = mac_of(key_, signed_entries);
  const std::string& given = signature["mac"].get_ref<const std::string&>();
  if (given.size() != expected.size() ||
      CRYPTO_memcmp(given.data(), expected.data(), expected.size()) != 0) {
    throw refused("is not signed by this node, or its signature was altered");
  }
  json found = entries_of(dir);
  if (found == signature["entries"]) return;
  // Name the first difference.
  const json& wanted = signature["entries"];
  for (size_t i = 0; i < std::max(found.size(), wanted.size()); ++i) {
    if (i >= found.size()) throw refused("lacks " + wanted[i].value("path", std::string("?")));
    if (i >= wanted.size() || found[i] != wanted[i]) {
      throw refused("was altered after it was signed: " + found[i].value("path", std::string("?")) +
                    " differs");
    }
  }
  throw refused("was altered after it was signed");
}

}  // namespace hanok::cri
