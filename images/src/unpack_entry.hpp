// Creates the entries of a tar stream below a root directory, each path resolved inside it.
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <time.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace hanok::images::detail {

// "./a//b/" -> "a/b"; "/" and "./" -> "". Throws UnpackError (naming `shown`) on a ".." part.
std::string clean_entry_path(const std::string& raw, const std::string& shown);

// Removes everything below the directory `dir_fd` (an fd opened O_RDONLY|O_DIRECTORY).
void remove_children(int dir_fd);

class Extractor {
 public:
  // `input_exhausted` says whether the tar reader has seen the whole layer.
  Extractor(int root_fd, std::function<bool()> input_exhausted)
      : root_fd_(root_fd), input_exhausted_(std::move(input_exhausted)) {}
  // Creates `entry` (reading its data from `reader`). Throws UnpackError naming the entry.
  void extract(archive* reader, archive_entry* entry);
  // Sets directory mtimes, deepest last-created first (creating children changed them).
  void finish();
  uint64_t unpacked_bytes() const { return unpacked_bytes_; }
  uint64_t entries() const { return entries_; }
  // The last regular file's data was complete but the layer ended before its tar padding (as
  // umoci writes them): the layer ends there.
  bool ended_without_padding() const { return ended_without_padding_; }

 private:
  struct DirTimes {
    std::string path;
    timespec times[2];
  };
  void extract_entry(archive* reader, archive_entry* entry, const std::string& path);
  int root_fd_;
  std::function<bool()> input_exhausted_;
  uint64_t unpacked_bytes_ = 0;
  uint64_t entries_ = 0;
  bool ended_without_padding_ = false;
  std::vector<DirTimes> dir_times_;
};

}  // namespace hanok::images::detail
