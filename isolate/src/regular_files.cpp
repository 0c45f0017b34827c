// Regular files of trees an image or a container controls, opened without opening anything
// else.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "isolate/error.hpp"
#include "isolate/in_root.hpp"

namespace hanok::isolate {

namespace {
std::string kind_name(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISFIFO(mode)) return "a fifo";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISLNK(mode)) return "a symlink";
  return "not a regular file";
}
}  // namespace

UniqueFd open_regular_at(int dir_fd, const std::string& name, const struct stat& expected,
                         const std::string& shown) {
  if (!S_ISREG(expected.st_mode)) {
    throw Error(ErrorKind::Invalid,
                shown + " is " + kind_name(expected.st_mode) + ", not a regular file");
  }
  UniqueFd path_fd(::openat(dir_fd, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  if (!path_fd) throw_sys("open", shown);
  struct stat st {};
  if (::fstat(path_fd.get(), &st) != 0) throw_sys("stat", shown);
  if (!S_ISREG(st.st_mode) || st.st_dev != expected.st_dev || st.st_ino != expected.st_ino) {
    throw Error(ErrorKind::Invalid, shown + " changed while it was being opened");
  }
  UniqueFd file(::open(fd_path(path_fd.get()).c_str(), O_RDONLY | O_NOCTTY | O_CLOEXEC));
  if (!file) throw_sys("open", shown);
  return file;
}

UniqueFd open_regular_in_root(int root_fd, const std::string& path) {
  std::string clean = clean_absolute_path(path);
  for (int links = 0; links <= 40; ++links) {
    if (clean == "/") throw Error(ErrorKind::Invalid, path + " is a directory, not a regular file");
    UniqueFd parent;
    try {
      parent = open_in_root(root_fd, dirname_of(clean), O_PATH | O_DIRECTORY);
    } catch (const SysError& e) {
      if (e.error_code() == ENOENT || e.error_code() == ENOTDIR || e.error_code() == ELOOP) {
        return UniqueFd();
      }
      throw;
    }
    std::string name = basename_of(clean);
    struct stat st {};
    if (::fstatat(parent.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) return UniqueFd();
      throw_sys("stat inside the rootfs", clean);
    }
    if (!S_ISLNK(st.st_mode)) return open_regular_at(parent.get(), name, st, path);
    char target[4096];
    ssize_t length = ::readlinkat(parent.get(), name.c_str(), target, sizeof target - 1);
    if (length <= 0) throw_sys("readlink inside the rootfs", clean);
    target[length] = '\0';
    // Followed as the kernel would inside the root: a relative target from the link's
    // directory, an absolute one from the root.
    clean = clean_absolute_path(target[0] == '/' ? std::string(target)
                                                 : dirname_of(clean) + "/" + target);
  }
  return UniqueFd();  // a loop of symlinks leads nowhere: nothing is there
}

}  // namespace hanok::isolate
