#include "images/layer_diff.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <stdexcept>

#include "isolate/error.hpp"
#include "isolate/in_root.hpp"
#include "isolate/tree_walk.hpp"
#include "isolate/unique_fd.hpp"

namespace hanok::images {

namespace {

using isolate::UniqueFd;

struct ArchiveCloser {
  void operator()(archive* a) const { archive_write_free(a); }
};
struct EntryCloser {
  void operator()(archive_entry* e) const { archive_entry_free(e); }
};
using Archive = std::unique_ptr<archive, ArchiveCloser>;
using Entry = std::unique_ptr<archive_entry, EntryCloser>;

class DiffWriter {
 public:
  DiffWriter(archive* out, LayerDiff& diff) : out_(out), diff_(diff) {}

  // Every entry below `top_fd`, a directory before what it holds, names in byte order; walked by
  // fds (the layer is the container's: a directory it swaps for a symlink is never followed).
  void write_tree(int top_fd) {
    isolate::TreeWalkOptions options;
    options.sorted = true;
    options.same_filesystem = false;
    options.max_depth = kMaxDepth;
    try {
      isolate::walk_tree(
          top_fd, [&](const isolate::TreeEntry& entry) { return add(entry); }, options);
    } catch (const isolate::SysError&) {
      throw;
    } catch (const isolate::Error& e) {
      throw std::runtime_error(std::string("write the layer diff: ") + e.what());
    }
  }

 private:
  static constexpr int kMaxDepth = 256;

  // Writes one entry; true for a directory whose contents come next.
  bool add(const isolate::TreeEntry& walked) {
    const int dir_fd = walked.dir_fd;
    const std::string& name = walked.name;
    const std::string& path = walked.path;
    struct stat st = walked.st;
    if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) {
      size_t slash = path.rfind('/');
      std::string whiteout =
          slash == std::string::npos ? ".wh." + name : path.substr(0, slash) + "/.wh." + name;
      write_header(whiteout, st, AE_IFREG, 0);
      diff_.deleted.push_back(path);
      return false;
    }
    Entry entry(archive_entry_new());
    archive_entry_set_pathname(entry.get(), path.c_str());
    archive_entry_set_uid(entry.get(), st.st_uid);
    archive_entry_set_gid(entry.get(), st.st_gid);
    archive_entry_set_perm(entry.get(), st.st_mode & 07777);
    archive_entry_set_mtime(entry.get(), st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    if (S_ISDIR(st.st_mode)) {
      archive_entry_set_filetype(entry.get(), AE_IFDIR);
      finish_header(entry.get(), path);
      UniqueFd sub(::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!sub) isolate::throw_sys("open", path);
      char value[2];
      ssize_t n = ::fgetxattr(sub.get(), "trusted.overlay.opaque", value, sizeof value);
      if (n == 1 && value[0] == 'y') {
        write_header(path + "/.wh..wh..opq", st, AE_IFREG, 0);
        diff_.deleted.push_back(path + "/*");
      }
      return true;
    } else if (S_ISREG(st.st_mode)) {
      // Opened only as the regular file stat'ed (O_PATH, checked, reopened): a fifo or device
      // swapped in meanwhile is never opened, waited on nor read.
      UniqueFd file;
      try {
        file = isolate::open_regular_at(dir_fd, name, st, path);
      } catch (const isolate::Error& e) {
        throw std::runtime_error(std::string("write the layer diff: ") + e.what());
      }
      if (::fstat(file.get(), &st) != 0) isolate::throw_sys("stat", path);
      archive_entry_set_filetype(entry.get(), AE_IFREG);
      archive_entry_set_size(entry.get(), st.st_size);
      finish_header(entry.get(), path);
      copy_data(file.get(), path, static_cast<uint64_t>(st.st_size));
    } else if (S_ISLNK(st.st_mode)) {
      std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
      ssize_t n = ::readlinkat(dir_fd, name.c_str(), target.data(), target.size());
      if (n < 0) isolate::throw_sys("readlink", path);
      target.resize(static_cast<size_t>(n));
      archive_entry_set_filetype(entry.get(), AE_IFLNK);
      archive_entry_set_symlink(entry.get(), target.c_str());
      finish_header(entry.get(), path);
    } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISFIFO(st.st_mode)) {
      archive_entry_set_filetype(entry.get(), S_ISCHR(st.st_mode)   ? AE_IFCHR
                                              : S_ISBLK(st.st_mode) ? AE_IFBLK
                                                                    : AE_IFIFO);
      archive_entry_set_rdev(entry.get(), st.st_rdev);
      finish_header(entry.get(), path);
    }
    // Sockets are not kept (as tar does not).
    return false;
  }

  void write_header(const std::string& path, const struct stat& st, unsigned type, int64_t size) {
    Entry entry(archive_entry_new());
    archive_entry_set_pathname(entry.get(), path.c_str());
    archive_entry_set_filetype(entry.get(), type);
    archive_entry_set_perm(entry.get(), 0644);
    archive_entry_set_size(entry.get(), size);
    archive_entry_set_mtime(entry.get(), st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    finish_header(entry.get(), path);
  }

  void finish_header(archive_entry* entry, const std::string& path) {
    if (archive_write_header(out_, entry) != ARCHIVE_OK) {
      throw std::runtime_error("write the layer diff: " + path + ": " + archive_error_string(out_));
    }
    ++diff_.entries;
  }

  void copy_data(int fd, const std::string& path, uint64_t size) {
    char buffer[65536];
    uint64_t left = size;
    while (left > 0) {
      ssize_t n = ::read(fd, buffer, std::min<uint64_t>(sizeof buffer, left));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) isolate::throw_sys("read", path);
      if (n == 0) {  // shrunk meanwhile: the header promised `size` bytes
        std::fill(buffer, buffer + sizeof buffer, 0);
        n = static_cast<ssize_t>(std::min<uint64_t>(sizeof buffer, left));
      }
      if (archive_write_data(out_, buffer, static_cast<size_t>(n)) < 0) {
        throw std::runtime_error("write the layer diff: " + path + ": " +
                                 archive_error_string(out_));
      }
      left -= static_cast<uint64_t>(n);
    }
  }

  archive* out_;
  LayerDiff& diff_;
};

}  // namespace

LayerDiff write_layer_diff(const std::string& upper_dir, const std::string& tar_path) {
  UniqueFd upper(::open(upper_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!upper) isolate::throw_sys("open the writable layer", upper_dir);
  UniqueFd out(::open(tar_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!out) isolate::throw_sys("create", tar_path);
  Archive archive(archive_write_new());
  archive_write_set_format_pax_restricted(archive.get());
  if (archive_write_open_fd(archive.get(), out.get()) != ARCHIVE_OK) {
    throw std::runtime_error("write " + tar_path + ": " + archive_error_string(archive.get()));
  }
  LayerDiff diff;
  DiffWriter(archive.get(), diff).write_tree(upper.get());
  if (archive_write_close(archive.get()) != ARCHIVE_OK) {
    throw std::runtime_error("write " + tar_path + ": " + archive_error_string(archive.get()));
  }
  if (::fsync(out.get()) != 0) isolate::throw_sys("fsync", tar_path);
  return diff;
}

}  // namespace hanok::images
