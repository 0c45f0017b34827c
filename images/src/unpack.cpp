#include "images/unpack.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>

#include <cerrno>
#include <memory>

#include "isolate/error.hpp"
#include "isolate/unique_fd.hpp"
#include "unpack_entry.hpp"
#include "unpack_stream.hpp"

namespace hanok::images {

namespace {

struct ArchiveReadDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};

bool is_empty_dir(int dir_fd) {
  isolate::UniqueFd probe(::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!probe) return false;
  DIR* dir = ::fdopendir(probe.release());
  if (dir == nullptr) return false;
  bool empty = true;
  while (dirent* d = ::readdir(dir)) {
    std::string name = d->d_name;
    if (name != "." && name != "..") empty = false;
  }
  ::closedir(dir);
  return empty;
}

UnpackResult unpack_into(const std::string& layer_path, Compression compression, int root_fd) {
  auto stream = detail::open_layer_stream(layer_path, compression);
  std::unique_ptr<archive, ArchiveReadDeleter> tar(archive_read_new());
  if (!tar) throw UnpackError("archive_read_new: out of memory");
  archive_read_support_format_tar(tar.get());  // ustar, pax and GNU tar
  detail::open_tar_reader(tar.get(), *stream);
  detail::LayerStream& input = *stream;
  detail::Extractor extractor(root_fd, [&input] { return input.exhausted(); });
  for (;;) {
    archive_entry* entry = nullptr;
    int r = archive_read_next_header(tar.get(), &entry);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) {
      // The layer ends after complete entries with (part of) their end blocks missing: fine, as
      // for containerd. A cut off header (anything but zeros there) is not.
      if (input.only_zeros_after(static_cast<uint64_t>(archive_filter_bytes(tar.get(), 0)))) break;
      const char* text = archive_error_string(tar.get());
      throw UnpackError("layer " + layer_path + ": " + (text ? text : "unreadable tar"));
    }
    extractor.extract(tar.get(), entry);
    if (extractor.ended_without_padding()) break;
  }
  extractor.finish();
  return UnpackResult{stream->finish(), extractor.unpacked_bytes(), extractor.entries()};
}

}  // namespace

UnpackResult unpack_layer(const std::string& layer_path, Compression compression,
                          const std::string& target_dir) {
  isolate::UniqueFd root(::open(target_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root) {
    throw UnpackError("open unpack target " + target_dir + ": " + isolate::errno_text(errno));
  }
  if (!is_empty_dir(root.get())) {
    throw UnpackError("unpack target " + target_dir + " is not empty");
  }
  try {
    return unpack_into(layer_path, compression, root.get());
  } catch (const std::exception& e) {
    try {
      detail::remove_children(root.get());
    } catch (...) {
      // The unpack error is the one worth reporting.
    }
    if (dynamic_cast<const UnpackError*>(&e) != nullptr) throw;
    throw UnpackError("layer " + layer_path + ": " + e.what());
  }
}

}  // namespace hanok::images
