// Blobs by digest under <root>/blobs/sha256/<hex>. A blob is written to <root>/ingest/, its digest
// checked, fsync'd, and renamed into place: a crash never leaves a partial blob that looks whole.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "images/digest.hpp"

namespace hanok::images {

class ContentStore;

// One blob being written. Destroying it without commit() removes the temp file.
class BlobWriter {
 public:
  ~BlobWriter();
  BlobWriter(const BlobWriter&) = delete;
  BlobWriter& operator=(const BlobWriter&) = delete;
  void write(const void* data, size_t size);
  uint64_t written() const { return written_; }
  // Verifies digest (and size, when expected), fsyncs and renames into place. Throws
  // std::runtime_error "blob sha256:...: digest mismatch (got sha256:...)" and removes the
  // temp file on a mismatch. A blob that is already there is fine (the temp file goes).
  void commit();

 private:
  friend class ContentStore;
  BlobWriter(const ContentStore& store, Digest expected, std::optional<uint64_t> expected_size);
  struct Impl;
  std::unique_ptr<Impl> impl_;
  uint64_t written_ = 0;
};

class ContentStore {
 public:
  explicit ContentStore(std::string root);  // creates the directories
  const std::string& root() const { return root_; }

  bool has(const Digest& digest) const;
  std::string path(const Digest& digest) const;  // where the blob is (or would be)
  std::optional<uint64_t> size(const Digest& digest) const;
  std::string read(const Digest& digest) const;  // whole blob (manifests, configs)
  std::unique_ptr<BlobWriter> writer(const Digest& expected,
                                     std::optional<uint64_t> expected_size = std::nullopt) const;
  // Writes a small blob (a manifest) in one go, verified against `expected`.
  void put(const Digest& expected, const std::string& data) const;
  void remove(const Digest& digest) const;  // missing is fine
  std::vector<Digest> list() const;
  // Removes temp files left by a crash (a pull killed half way).
  void clean_ingest() const;

 private:
  std::string root_;
};

}  // namespace hanok::images
