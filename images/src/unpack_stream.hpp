// The uncompressed tar stream of a layer, hashed as it is read: the diff_id comes out of the
// same single pass that feeds the tar reader.
#pragma once

#include <archive.h>

#include <sys/types.h>
#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "images/digest.hpp"
#include "images/manifest.hpp"

namespace hanok::images::detail {

class LayerStream {
 public:
  virtual ~LayerStream() = default;
  // Up to `capacity` uncompressed bytes, already hashed; 0 at the end. Throws UnpackError.
  virtual size_t read(void* buffer, size_t capacity) = 0;
  // Reads (and hashes) whatever the tar reader left unread, then the sha256 of it all.
  Digest finish();
  // The next block for the tar reader's callback (a buffer owned by the stream).
  std::pair<const void*, size_t> next_block();
  // Whether the tar reader has been given the whole stream (next_block returned nothing).
  bool exhausted() const { return exhausted_; }
  // Whether every byte given to the tar reader from `position` on is zero (and there are few
  // enough to tell: a tar's missing padding or end blocks, never a cut off entry).
  bool only_zeros_after(uint64_t position) const;

 protected:
  Sha256 hash_;

 private:
  std::vector<char> block_;
  uint64_t given_ = 0;  // bytes handed to the tar reader
  std::string tail_;    // the last of them (up to kTailSize)
  bool exhausted_ = false;
};

// Opens `path`; gzip and zstd are decompressed by libarchive's own filters ("raw" format), so
// only libarchive is linked. A stream that is not in `compression` is refused.
std::unique_ptr<LayerStream> open_layer_stream(const std::string& path, Compression compression);

// Installs `stream` as the input of a tar reader (archive_read_open with callbacks).
void open_tar_reader(archive* reader, LayerStream& stream);

}  // namespace hanok::images::detail
