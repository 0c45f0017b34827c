// Content store: blobs by digest, written through ingest/ temp files and renamed into place.
#include "images/content_store.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <stdexcept>
#include <system_error>

#include "isolate/error.hpp"
#include "isolate/files.hpp"
#include "isolate/unique_fd.hpp"

namespace hanok::images {

using isolate::throw_sys;
using isolate::UniqueFd;

namespace {

std::string blobs_dir(const std::string& root) {
  return root + "/blobs/sha256";
}
std::string ingest_dir(const std::string& root) {
  return root + "/ingest";
}

void fsync_dir(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) throw_sys("open directory", dir);
  if (::fsync(fd.get()) != 0) throw_sys("fsync directory", dir);
}

void write_all(int fd, const char* data, size_t size, const std::string& path) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_sys("write", path);
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
}

}  // namespace

// ---- BlobWriter ----

struct BlobWriter::Impl {
  std::string root;
  Digest expected;
  std::optional<uint64_t> expected_size;
  std::string temp_path;
  UniqueFd fd;
  Sha256 sha;
  bool done = false;  // committed or failed: the temp file is gone

  void discard() noexcept {
    fd.reset();
    if (!temp_path.empty() && !done) ::unlink(temp_path.c_str());
    done = true;
  }
};

BlobWriter::BlobWriter(const ContentStore& store, Digest expected,
                       std::optional<uint64_t> expected_size)
    : impl_(std::make_unique<Impl>()) {
  impl_->root = store.root();
  impl_->expected = std::move(expected);
  impl_->expected_size = expected_size;
  std::string name = ingest_dir(impl_->root) + "/" + std::string(impl_->expected.hex()) + "-XXXXXX";
  int fd = ::mkostemp(name.data(), O_CLOEXEC);
  if (fd < 0) throw_sys("create temp file", name);
  impl_->fd.reset(fd);
  impl_->temp_path = name;
  // A live writer holds the lock; clean_ingest() only removes unlocked (abandoned) files.
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    impl_->discard();
    throw_sys("lock temp file", name, err);
  }
}

BlobWriter::~BlobWriter() {
  if (impl_) impl_->discard();
}

void BlobWriter::write(const void* data, size_t size) {
  Impl& impl = *impl_;
  if (impl.done) {
    throw std::logic_error("blob " + impl.expected.str() + ": write after commit or failure");
  }
  if (impl.expected_size && written_ + size > *impl.expected_size) {
    impl.discard();
    throw std::runtime_error("blob " + impl.expected.str() + ": size mismatch (expected " +
                             std::to_string(*impl.expected_size) + " bytes, got at least " +
                             std::to_string(written_ + size) + ")");
  }
  try {
    write_all(impl.fd.get(), static_cast<const char*>(data), size, impl.temp_path);
  } catch (...) {
    impl.discard();
    throw;
  }
  impl.sha.update(data, size);
  written_ += size;
}

void BlobWriter::commit() {
  Impl& impl = *impl_;
  if (impl.done) {
    throw std::logic_error("blob " + impl.expected.str() + ": commit after commit or failure");
  }
  try {
    Digest got = impl.sha.finish();
    if (got != impl.expected) {
      throw std::runtime_error("blob " + impl.expected.str() + ": digest mismatch (got " +
                               got.str() + ")");
    }
    if (impl.expected_size && written_ != *impl.expected_size) {
      throw std::runtime_error("blob " + impl.expected.str() + ": size mismatch (expected " +
                               std::to_string(*impl.expected_size) + " bytes, got " +
                               std::to_string(written_) + ")");
    }
    if (::fchmod(impl.fd.get(), 0444) != 0) throw_sys("chmod", impl.temp_path);
    if (::fsync(impl.fd.get()) != 0) throw_sys("fsync", impl.temp_path);
    std::string dir = blobs_dir(impl.root);
    std::string target = dir + "/" + std::string(impl.expected.hex());
    // Renaming over an existing copy of the same blob is harmless: the content is identical.
    if (::rename(impl.temp_path.c_str(), target.c_str()) != 0) {
      throw_sys("rename " + impl.temp_path + " to", target);
    }
    impl.done = true;
    impl.fd.reset();
    fsync_dir(dir);
  } catch (...) {
    impl.discard();
    throw;
  }
}

// ---- ContentStore ----

ContentStore::ContentStore(std::string root) : root_(std::move(root)) {
  isolate::make_dirs(blobs_dir(root_));
  isolate::make_dirs(ingest_dir(root_));
}

std::string ContentStore::path(const Digest& digest) const {
  return blobs_dir(root_) + "/" + std::string(digest.hex());
}

bool ContentStore::has(const Digest& digest) const {
  return size(digest).has_value();
}

std::optional<uint64_t> ContentStore::size(const Digest& digest) const {
  std::string p = path(digest);
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) {
    if (errno == ENOENT) return std::nullopt;
    throw_sys("stat", p);
  }
  if (!S_ISREG(st.st_mode)) return std::nullopt;
  return static_cast<uint64_t>(st.st_size);
}

std::string ContentStore::read(const Digest& digest) const {
  return isolate::read_file(path(digest));
}

std::unique_ptr<BlobWriter> ContentStore::writer(const Digest& expected,
                                                 std::optional<uint64_t> expected_size) const {
  return std::unique_ptr<BlobWriter>(new BlobWriter(*this, expected, expected_size));
}

void ContentStore::put(const Digest& expected, const std::string& data) const {
  auto w = writer(expected, data.size());
  w->write(data.data(), data.size());
  w->commit();
}

void ContentStore::remove(const Digest& digest) const {
  std::string p = path(digest);
  if (::unlink(p.c_str()) != 0 && errno != ENOENT) throw_sys("remove blob", p);
}

std::vector<Digest> ContentStore::list() const {
  std::vector<Digest> digests;
  std::string dir = blobs_dir(root_);
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    std::error_code type_ec;
    if (!entry.is_regular_file(type_ec)) continue;
    try {
      digests.push_back(Digest::parse("sha256:" + entry.path().filename().string()));
    } catch (const DigestError&) {
      // Not a blob (a stray file): ignore it.
    }
  }
  if (ec) throw std::runtime_error("list blobs in " + dir + ": " + ec.message());
  std::sort(digests.begin(), digests.end());
  return digests;
}

void ContentStore::clean_ingest() const {
  std::string dir = ingest_dir(root_);
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    std::string p = entry.path().string();
    UniqueFd fd(::open(p.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (fd && ::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) continue;  // a live writer
    if (::unlink(p.c_str()) != 0 && errno != ENOENT) {
      if (errno == EISDIR || errno == EPERM) {
        std::error_code remove_ec;
        std::filesystem::remove_all(entry.path(), remove_ec);
        continue;
      }
      throw_sys("remove stale temp file", p);
    }
  }
  if (ec) throw std::runtime_error("clean " + dir + ": " + ec.message());
}

}  // namespace hanok::images
