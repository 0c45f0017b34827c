#include "unpack_stream.hpp"

#include <archive_entry.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "images/unpack.hpp"
#include "isolate/error.hpp"
#include "isolate/unique_fd.hpp"

namespace hanok::images::detail {

namespace {

constexpr size_t kBufferSize = 256 * 1024;

struct ArchiveReadDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};
using ArchiveReadPtr = std::unique_ptr<archive, ArchiveReadDeleter>;

std::string name_of(Compression compression) {
  switch (compression) {
    case Compression::Gzip:
      return "gzip";
    case Compression::Zstd:
      return "zstd";
    case Compression::None:
      break;
  }
  return "none";
}

// An uncompressed layer: the file itself.
class PlainStream : public LayerStream {
 public:
  explicit PlainStream(const std::string& path) : path_(path) {
    fd_.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd_) {
      throw UnpackError("open layer " + path + ": " + isolate::errno_text(errno));
    }
  }
  size_t read(void* buffer, size_t capacity) override {
    for (;;) {
      ssize_t n = ::read(fd_.get(), buffer, capacity);
      if (n >= 0) {
        hash_.update(buffer, static_cast<size_t>(n));
        return static_cast<size_t>(n);
      }
      if (errno != EINTR) {
        throw UnpackError("read layer " + path_ + ": " + isolate::errno_text(errno));
      }
    }
  }

 private:
  std::string path_;
  isolate::UniqueFd fd_;
};

// A gzip or zstd layer, decompressed by libarchive's filter through its "raw" format.
class FilteredStream : public LayerStream {
 public:
  FilteredStream(const std::string& path, Compression compression)
      : path_(path), reader_(archive_read_new()) {
    if (!reader_) throw UnpackError("archive_read_new: out of memory");
    int want = compression == Compression::Gzip ? ARCHIVE_FILTER_GZIP : ARCHIVE_FILTER_ZSTD;
    int r = compression == Compression::Gzip ? archive_read_support_filter_gzip(reader_.get())
                                             : archive_read_support_filter_zstd(reader_.get());
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN) fail("enable " + name_of(compression));
    archive_read_support_format_raw(reader_.get());
    if (archive_read_open_filename(reader_.get(), path.c_str(), kBufferSize) != ARCHIVE_OK) {
      fail("open");
    }
    archive_entry* entry = nullptr;
    r = archive_read_next_header(reader_.get(), &entry);
    if (r == ARCHIVE_EOF) {
      at_end_ = true;  // an empty stream is hashed as empty
    } else if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
      fail("read");
    }
    if (archive_filter_count(reader_.get()) < 2 || archive_filter_code(reader_.get(), 0) != want) {
      throw UnpackError("layer " + path + ": not " + name_of(compression) + " compressed");
    }
  }
  size_t read(void* buffer, size_t capacity) override {
    if (at_end_) return 0;
    la_ssize_t n = archive_read_data(reader_.get(), buffer, capacity);
    if (n < 0) fail("decompress");
    if (n == 0) at_end_ = true;
    hash_.update(buffer, static_cast<size_t>(n));
    return static_cast<size_t>(n);
  }

 private:
  [[noreturn]] void fail(const std::string& what) {
    const char* text = archive_error_string(reader_.get());
    throw UnpackError(what + " layer " + path_ + ": " + (text ? text : "unknown error"));
  }
  std::string path_;
  ArchiveReadPtr reader_;
  bool at_end_ = false;
};

la_ssize_t read_callback(archive* a, void* client, const void** out) {
  auto* stream = static_cast<LayerStream*>(client);
  try {
    auto [data, size] = stream->next_block();
    *out = data;
    return static_cast<la_ssize_t>(size);
  } catch (const std::exception& e) {
    archive_set_error(a, EIO, "%s", e.what());
    return -1;
  }
}

}  // namespace

Digest LayerStream::finish() {
  std::vector<char> rest(kBufferSize);
  while (read(rest.data(), rest.size()) > 0) {
  }
  return hash_.finish();
}

std::unique_ptr<LayerStream> open_layer_stream(const std::string& path, Compression compression) {
  if (compression == Compression::None) return std::make_unique<PlainStream>(path);
  return std::make_unique<FilteredStream>(path, compression);
}

std::pair<const void*, size_t> LayerStream::next_block() {
  if (block_.empty()) block_.resize(kBufferSize);
  size_t size = read(block_.data(), block_.size());
  if (size == 0) exhausted_ = true;
  given_ += size;
  // The tail: enough for a tar's padding and its two end blocks.
  constexpr size_t kTailSize = 2048;
  if (size >= kTailSize) {
    tail_.assign(block_.data() + size - kTailSize, kTailSize);
  } else {
    tail_.append(block_.data(), size);
    if (tail_.size() > kTailSize) tail_.erase(0, tail_.size() - kTailSize);
  }
  return {block_.data(), size};
}

bool LayerStream::only_zeros_after(uint64_t position) const {
  if (!exhausted_ || position > given_ || given_ - position > tail_.size()) return false;
  size_t from = tail_.size() - static_cast<size_t>(given_ - position);
  return std::all_of(tail_.begin() + static_cast<std::ptrdiff_t>(from), tail_.end(),
                     [](char c) { return c == 0; });
}

void open_tar_reader(archive* reader, LayerStream& stream) {
  // `stream` outlives the reader; no close callback owns anything.
  if (archive_read_open2(reader, &stream, nullptr, read_callback, nullptr, nullptr) != ARCHIVE_OK) {
    const char* text = archive_error_string(reader);
    throw UnpackError(std::string("read layer tar: ") + (text ? text : "unknown error"));
  }
}

}  // namespace hanok::images::detail
