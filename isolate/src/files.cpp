#include "isolate/files.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "isolate/error.hpp"
#include "isolate/random.hpp"
#include "isolate/unique_fd.hpp"

namespace hanok::isolate {

std::string read_file(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw_sys("open", path);
  std::string content;
  char buffer[16384];
  for (;;) {
    ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_sys("read", path);
    }
    if (n == 0) break;
    content.append(buffer, static_cast<size_t>(n));
  }
  return content;
}

namespace {
void write_all(int fd, std::string_view content, const std::string& path) {
  while (!content.empty()) {
    ssize_t n = ::write(fd, content.data(), content.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_sys("write", path);
    }
    content.remove_prefix(static_cast<size_t>(n));
  }
}
}  // namespace

std::optional<std::string> read_file_if_exists(const std::string& path) {
  try {
    return read_file(path);
  } catch (const SysError& e) {
    int err = e.error_code();
    if (err == ENOENT || err == ENODEV || err == EOPNOTSUPP) return std::nullopt;
    throw;
  }
}

void write_knob(const std::string& path, std::string_view value) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
  ssize_t n = -1;
  if (fd) {
    do {
      n = ::write(fd.get(), value.data(), value.size());
    } while (n < 0 && errno == EINTR);
  }
  if (n < 0) throw SysError(path + ": write", value, errno);
}

void write_file_atomic(const std::string& path, std::string_view content, unsigned mode) {
  size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  UniqueFd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir_fd) throw_sys("open the directory of", path);
  // A name of its own, made here (never one there already, nor a symlink someone planted).
  std::string tmp = "." + name + ".tmp-" + random_hex(8);
  std::string shown = dir + "/" + tmp;
  UniqueFd fd(::openat(dir_fd.get(), tmp.c_str(),
                       O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
  if (!fd) throw_sys("create", shown);
  try {
    write_all(fd.get(), content, shown);
    if (::fsync(fd.get()) != 0) throw_sys("fsync", shown);
    fd.reset();
    if (::renameat(dir_fd.get(), tmp.c_str(), dir_fd.get(), name.c_str()) != 0) {
      throw_sys("rename to", path);
    }
  } catch (...) {
    ::unlinkat(dir_fd.get(), tmp.c_str(), 0);
    throw;
  }
  // The rename itself survives a crash too.
  if (::fsync(dir_fd.get()) != 0) throw_sys("fsync the directory of", path);
}

namespace {
void remove_entries(int dir_fd, const std::string& path, dev_t device) {
  int fd = ::fcntl(dir_fd, F_DUPFD_CLOEXEC, 0);
  if (fd < 0) throw_sys("dup", path);
  DIR* dir = ::fdopendir(fd);
  if (dir == nullptr) {
    ::close(fd);
    throw_sys("opendir", path);
  }
  while (dirent* entry = ::readdir(dir)) {
    std::string_view name = entry->d_name;
    if (name == "." || name == "..") continue;
    struct stat st {};
    if (::fstatat(dir_fd, entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      if (st.st_dev != device) continue;  // a mount point: never descend into it
      UniqueFd child(
          ::openat(dir_fd, entry->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (child) remove_entries(child.get(), path + "/" + entry->d_name, device);
      ::unlinkat(dir_fd, entry->d_name, AT_REMOVEDIR);
    } else {
      ::unlinkat(dir_fd, entry->d_name, 0);
    }
  }
  ::closedir(dir);
}
}  // namespace

void remove_tree(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return;
    throw_sys("stat", path);
  }
  if (S_ISDIR(st.st_mode)) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) throw_sys("open", path);
    remove_entries(fd.get(), path, st.st_dev);
    if (::rmdir(path.c_str()) != 0 && errno != ENOENT) throw_sys("rmdir", path);
  } else if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    throw_sys("unlink", path);
  }
}

void make_dirs(const std::string& path, unsigned mode) {
  if (path.empty()) return;
  for (size_t pos = 1; pos <= path.size(); ++pos) {
    if (pos != path.size() && path[pos] != '/') continue;
    std::string prefix = path.substr(0, pos);
    if (::mkdir(prefix.c_str(), mode) != 0 && errno != EEXIST) throw_sys("mkdir", prefix);
  }
}

bool path_exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

std::vector<std::string> list_dir(const std::string& dir) {
  std::vector<std::string> names;
  DIR* listing = ::opendir(dir.c_str());
  if (listing == nullptr) return names;
  while (dirent* entry = ::readdir(listing)) {
    std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  ::closedir(listing);
  return names;
}

std::string find_executable(const std::string& name, const std::vector<std::string>& dirs) {
  if (name.empty() || name.find('/') != std::string::npos) return "";
  for (const auto& dir : dirs) {
    std::string path = dir + "/" + name;
    if (::access(path.c_str(), X_OK) == 0) return path;
  }
  return "";
}

std::string find_criu() {
  if (const char* configured = std::getenv("HANOK_CRIU"); configured != nullptr && *configured) {
    return configured;
  }
  return find_executable("criu", {"/usr/sbin", "/usr/local/sbin", "/sbin", "/usr/bin"});
}

}  // namespace hanok::isolate
