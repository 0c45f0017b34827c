// Entry creation. Every parent directory is opened with openat2(RESOLVE_IN_ROOT) and the entry
// itself created with *at() calls that never follow a symlink in the last component. A symlink
// inside the layer ("evil -> /") followed by an entry below it ("evil/etc/x") is therefore
// resolved as the kernel would inside a chroot: the file lands at <target>/etc/x, never outside
// the target (containerd's behaviour, which keeps legitimate layers working). ".." components
// are refused outright, in entry names and in hardlink targets.
#include "unpack_entry.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "images/unpack.hpp"
#include "isolate/error.hpp"
#include "isolate/in_root.hpp"
#include "isolate/unique_fd.hpp"

namespace hanok::images::detail {

namespace {

using isolate::UniqueFd;

constexpr const char* kWhiteoutPrefix = ".wh.";
constexpr const char* kOpaqueMarker = ".wh..wh..opq";
constexpr const char* kWhiteoutMetaPrefix = ".wh..wh.";

[[noreturn]] void fail(const std::string& entry, const std::string& what, int err = errno) {
  throw UnpackError("layer entry \"" + entry + "\": " + what + ": " + isolate::errno_text(err));
}

[[noreturn]] void refuse(const std::string& entry, const std::string& why) {
  throw UnpackError("layer entry \"" + entry + "\": " + why);
}

void remove_at(int dir_fd, const char* name) {
  struct stat st {};
  if (::fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return;
    isolate::throw_sys("stat", name);
  }
  if (S_ISDIR(st.st_mode)) {
    UniqueFd child(::openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!child) isolate::throw_sys("open", name);
    remove_children(child.get());
    if (::unlinkat(dir_fd, name, AT_REMOVEDIR) != 0 && errno != ENOENT) {
      isolate::throw_sys("rmdir", name);
    }
  } else if (::unlinkat(dir_fd, name, 0) != 0 && errno != ENOENT) {
    isolate::throw_sys("unlink", name);
  }
}

std::string base_name(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string parent_path(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "" : path.substr(0, slash);
}

bool is_root() {
  return ::geteuid() == 0;
}

}  // namespace

std::string clean_entry_path(const std::string& raw, const std::string& shown) {
  std::string clean;
  size_t pos = 0;
  while (pos <= raw.size()) {
    size_t next = raw.find('/', pos);
    if (next == std::string::npos) next = raw.size();
    std::string part = raw.substr(pos, next - pos);
    if (part == "..") refuse(shown, "path escapes the layer root");
    if (!part.empty() && part != ".") clean += (clean.empty() ? "" : "/") + part;
    pos = next + 1;
  }
  return clean;
}

void remove_children(int dir_fd) {
  UniqueFd dup_fd(::fcntl(dir_fd, F_DUPFD_CLOEXEC, 3));
  if (!dup_fd) isolate::throw_sys("dup");
  DIR* dir = ::fdopendir(dup_fd.get());
  if (dir == nullptr) isolate::throw_sys("opendir");
  dup_fd.release();
  std::vector<std::string> names;
  while (dirent* d = ::readdir(dir)) {
    if (std::strcmp(d->d_name, ".") != 0 && std::strcmp(d->d_name, "..") != 0) {
      names.emplace_back(d->d_name);
    }
  }
  ::closedir(dir);
  for (const auto& name : names) remove_at(dir_fd, name.c_str());
}

void Extractor::extract(archive* reader, archive_entry* entry) {
  ++entries_;
  const char* raw = archive_entry_pathname(entry);
  std::string shown = raw ? raw : "";
  try {
    extract_entry(reader, entry, shown);
  } catch (const UnpackError&) {
    throw;
  } catch (const std::exception& e) {
    throw UnpackError("layer entry \"" + shown + "\": " + e.what());
  }
}

void Extractor::extract_entry(archive* reader, archive_entry* entry, const std::string& shown) {
  std::string path = clean_entry_path(shown, shown);
  if (path.empty()) return;  // "./": the target directory itself keeps its own metadata
  std::string name = base_name(path);
  std::string parent = parent_path(path);
  UniqueFd parent_fd =
      isolate::ensure_in_root(root_fd_, "/" + parent, isolate::NodeKind::Directory);
  int dir = parent_fd.get();

  // Whiteouts, in the overlayfs form.
  if (name == kOpaqueMarker) {
    if (::setxattr(isolate::fd_path(dir).c_str(), "trusted.overlay.opaque", "y", 1, 0) != 0) {
      fail(shown, "set trusted.overlay.opaque");
    }
    return;
  }
  if (name.rfind(kWhiteoutMetaPrefix, 0) == 0) return;  // aufs metadata (.wh..wh.plnk): skip
  if (name.rfind(kWhiteoutPrefix, 0) == 0) {
    std::string hidden = name.substr(std::strlen(kWhiteoutPrefix));
    // ".wh." alone would hide the directory itself, ".wh.." its parent: never.
    if (hidden.empty() || hidden == "." || hidden == "..") {
      refuse(shown, "a whiteout must name an entry of its directory");
    }
    remove_at(dir, hidden.c_str());
    if (::mknodat(dir, hidden.c_str(), S_IFCHR | 0, ::makedev(0, 0)) != 0) {
      fail(shown, "create whiteout");
    }
    return;
  }

  mode_t type = archive_entry_filetype(entry);
  const char* hardlink = archive_entry_hardlink(entry);
  bool is_dir = hardlink == nullptr && type == AE_IFDIR;

  // A later entry replaces an earlier one; a directory over a directory keeps its children.
  struct stat existing {};
  if (::fstatat(dir, name.c_str(), &existing, AT_SYMLINK_NOFOLLOW) == 0) {
    if (!(is_dir && S_ISDIR(existing.st_mode))) remove_at(dir, name.c_str());
  } else if (errno != ENOENT) {
    fail(shown, "stat");
  }

  if (hardlink != nullptr) {
    std::string target = clean_entry_path(hardlink, shown);
    if (target.empty()) refuse(shown, "hardlink to the layer root");
    std::string target_parent = parent_path(target);
    std::string target_name = base_name(target);
    UniqueFd target_dir;
    try {
      target_dir = isolate::open_in_root(root_fd_, "/" + target_parent, O_PATH | O_DIRECTORY);
    } catch (const std::exception&) {
      refuse(shown, "hardlink target \"" + std::string(hardlink) + "\" does not exist");
    }
    if (::linkat(target_dir.get(), target_name.c_str(), dir, name.c_str(), 0) != 0) {
      fail(shown, "hardlink to \"" + std::string(hardlink) + "\"");
    }
    return;  // a hardlink shares its target's metadata
  }

  const mode_t perm = archive_entry_perm(entry);
  UniqueFd file;
  switch (type) {
    case AE_IFREG: {
      file.reset(
          ::openat(dir, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
      if (!file) fail(shown, "create");
      const void* block = nullptr;
      size_t size = 0;
      la_int64_t offset = 0;
      uint64_t received = 0;
      for (;;) {
        int r = archive_read_data_block(reader, &block, &size, &offset);
        if (r == ARCHIVE_EOF) break;
        if (r < ARCHIVE_WARN) {
          // All of the data, then the end of the layer where its padding should be: what
          // containerd (Go's archive/tar) accepts, and the blob's digest vouches for every byte.
          bool complete = archive_entry_sparse_count(entry) == 0 &&
                          received == static_cast<uint64_t>(archive_entry_size(entry));
          if (complete && input_exhausted_()) {
            ended_without_padding_ = true;
            break;
          }
          const char* text = archive_error_string(reader);
          refuse(shown, std::string("read data: ") + (text ? text : "unknown error"));
        }
        received += size;
        const char* data = static_cast<const char*>(block);
        while (size > 0) {
          ssize_t n = ::pwrite(file.get(), data, size, offset);
          if (n < 0) {
            if (errno == EINTR) continue;
            fail(shown, "write");
          }
          data += n;
          size -= static_cast<size_t>(n);
          offset += n;
        }
      }
      la_int64_t total = archive_entry_size(entry);
      if (::ftruncate(file.get(), total) != 0) fail(shown, "truncate");  // trailing sparse hole
      unpacked_bytes_ += static_cast<uint64_t>(total);
      break;
    }
    case AE_IFDIR:
      if (!S_ISDIR(existing.st_mode) && ::mkdirat(dir, name.c_str(), 0700) != 0) {
        fail(shown, "mkdir");
      }
      break;
    case AE_IFLNK: {
      const char* target = archive_entry_symlink(entry);
      if (::symlinkat(target ? target : "", dir, name.c_str()) != 0) fail(shown, "symlink");
      break;
    }
    case AE_IFCHR:
    case AE_IFBLK:
    case AE_IFIFO:
      if (::mknodat(dir, name.c_str(), type | perm, archive_entry_rdev(entry)) != 0) {
        fail(shown, "mknod");
      }
      break;
    default:
      refuse(shown, "unsupported entry type");
  }

  // Ownership first (chown clears set-id bits), then mode, xattrs, and times last.
  uid_t uid = static_cast<uid_t>(archive_entry_uid(entry));
  gid_t gid = static_cast<gid_t>(archive_entry_gid(entry));
  int r = file ? ::fchown(file.get(), uid, gid)
               : ::fchownat(dir, name.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW);
  if (r != 0 && (is_root() || errno != EPERM)) fail(shown, "chown");
  if (type != AE_IFLNK) {
    r = file ? ::fchmod(file.get(), perm) : ::fchmodat(dir, name.c_str(), perm, 0);
    if (r != 0) fail(shown, "chmod");
    archive_entry_xattr_reset(entry);
    const char* key = nullptr;
    const void* value = nullptr;
    size_t size = 0;
    if (archive_entry_xattr_count(entry) > 0) {
      UniqueFd node = file ? UniqueFd(::fcntl(file.get(), F_DUPFD_CLOEXEC, 3))
                           : UniqueFd(::openat(dir, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
      if (!node) fail(shown, "open for xattrs");
      std::string node_path = isolate::fd_path(node.get());
      while (archive_entry_xattr_next(entry, &key, &value, &size) == ARCHIVE_OK) {
        if (::setxattr(node_path.c_str(), key, value, size, 0) != 0) {
          fail(shown, std::string("set xattr ") + key);
        }
      }
    }
  }
  DirTimes times{};
  times.times[1] = archive_entry_mtime_is_set(entry)
                       ? timespec{archive_entry_mtime(entry), archive_entry_mtime_nsec(entry)}
                       : timespec{0, UTIME_OMIT};
  times.times[0] = archive_entry_atime_is_set(entry)
                       ? timespec{archive_entry_atime(entry), archive_entry_atime_nsec(entry)}
                       : times.times[1];
  if (type == AE_IFDIR) {
    times.path = path;
    dir_times_.push_back(std::move(times));
  } else if (::utimensat(dir, name.c_str(), times.times, AT_SYMLINK_NOFOLLOW) != 0) {
    fail(shown, "set times");
  }
}

void Extractor::finish() {
  for (auto it = dir_times_.rbegin(); it != dir_times_.rend(); ++it) {
    UniqueFd parent =
        isolate::open_in_root(root_fd_, "/" + parent_path(it->path), O_PATH | O_DIRECTORY);
    if (::utimensat(parent.get(), base_name(it->path).c_str(), it->times, AT_SYMLINK_NOFOLLOW) !=
        0) {
      fail(it->path, "set times");
    }
  }
}

}  // namespace hanok::images::detail
