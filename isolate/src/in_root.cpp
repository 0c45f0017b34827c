#include "isolate/in_root.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <stdexcept>
#include <string_view>
#include <vector>

#include "isolate/error.hpp"

namespace hanok::isolate {

namespace {
int openat2_in_root(int root_fd, const std::string& relative, int flags) {
  open_how how{};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  return static_cast<int>(::syscall(SYS_openat2, root_fd, relative.c_str(), &how, sizeof how));
}

std::vector<std::string> components(const std::string& clean) {
  std::vector<std::string> parts;
  size_t pos = 1;
  while (pos < clean.size()) {
    size_t next = clean.find('/', pos);
    if (next == std::string::npos) next = clean.size();
    parts.push_back(clean.substr(pos, next - pos));
    pos = next + 1;
  }
  return parts;
}
}  // namespace

std::string clean_absolute_path(const std::string& path) {
  std::vector<std::string> parts;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t next = path.find('/', pos);
    if (next == std::string::npos) next = path.size();
    std::string part = path.substr(pos, next - pos);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(std::move(part));
    }
    pos = next + 1;
  }
  std::string clean;
  for (const auto& part : parts) clean += "/" + part;
  return clean.empty() ? "/" : clean;
}

void check_cwd_inside_root(const std::string& field) {
  char buffer[4096];
  long n = ::syscall(SYS_getcwd, buffer, sizeof buffer);
  if (n < 0) throw_sys(field + ": verify the working directory", "");
  std::string_view cwd(buffer);
  if (cwd.empty() || cwd[0] != '/') {
    throw std::runtime_error(field +
                             ": current working directory is outside of container mount "
                             "namespace root -- possible container breakout detected");
  }
}

bool process_confined_to(pid_t pid, const struct stat& root) {
  auto same = [](const struct stat& a, const struct stat& b) {
    return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
  };
  std::string proc = "/proc/" + std::to_string(pid);
  UniqueFd its_root(::open((proc + "/root").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  UniqueFd dir(::open((proc + "/cwd").c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  struct stat st {};
  if (!its_root || !dir || ::fstat(its_root.get(), &st) != 0 || !same(st, root)) return false;
  for (int level = 0; level < 65536; ++level) {
    if (::fstat(dir.get(), &st) != 0) return false;
    if (same(st, root)) return true;
    UniqueFd up(::openat(dir.get(), "..", O_PATH | O_DIRECTORY | O_CLOEXEC));
    struct stat above {};
    if (!up || ::fstat(up.get(), &above) != 0 || same(above, st)) return false;  // the top
    dir = std::move(up);
  }
  return false;
}

std::string dirname_of(const std::string& path) {
  std::string clean = clean_absolute_path(path);
  size_t slash = clean.rfind('/');
  return slash == 0 ? "/" : clean.substr(0, slash);
}

std::string basename_of(const std::string& path) {
  std::string clean = clean_absolute_path(path);
  return clean.substr(clean.rfind('/') + 1);
}

UniqueFd open_in_root(int root_fd, const std::string& path, int flags) {
  std::string relative = clean_absolute_path(path);
  relative = relative == "/" ? "." : relative.substr(1);
  UniqueFd fd(openat2_in_root(root_fd, relative, flags));
  if (!fd) throw_sys("open inside the rootfs", path);
  return fd;
}

UniqueFd ensure_in_root(int root_fd, const std::string& path, NodeKind kind, unsigned mode) {
  std::string clean = clean_absolute_path(path);
  UniqueFd existing(openat2_in_root(root_fd, clean == "/" ? "." : clean.substr(1), O_PATH));
  if (existing) return existing;
  if (errno != ENOENT) throw_sys("open inside the rootfs", path);

  // Walk component by component, creating what is missing. A dangling symlink on the way is
  // followed as the kernel would inside the root: its target (taken as inside the root) is what
  // gets created, and the walk starts again from there.
  for (int symlinks = 0; symlinks <= 40; ++symlinks) {
    UniqueFd parent(::fcntl(root_fd, F_DUPFD_CLOEXEC, 3));
    if (!parent) throw_sys("dup rootfs fd", path);
    std::string walked;
    auto parts = components(clean);
    bool restarted = false;
    for (size_t i = 0; i < parts.size() && !restarted; ++i) {
      const std::string& name = parts[i];
      std::string parent_path = walked.empty() ? "/" : walked;
      walked += "/" + name;
      bool last = i + 1 == parts.size();
      int flags = last ? O_PATH : O_PATH | O_DIRECTORY;
      UniqueFd next(openat2_in_root(root_fd, walked.substr(1), flags));
      if (!next && errno == ENOENT) {
        char target[4096];
        ssize_t length = ::readlinkat(parent.get(), name.c_str(), target, sizeof target - 1);
        if (length > 0) {
          target[length] = '\0';
          std::string rest;
          for (size_t j = i + 1; j < parts.size(); ++j) rest += "/" + parts[j];
          std::string base = target[0] == '/' ? "" : parent_path + "/";
          clean = clean_absolute_path(base + target + rest);
          restarted = true;
          continue;
        }
        if (last && kind == NodeKind::File) {
          UniqueFd created(::openat(parent.get(), name.c_str(),
                                    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                                    mode & 0666));
          if (!created && errno != EEXIST) throw_sys("create inside the rootfs", walked);
        } else if (::mkdirat(parent.get(), name.c_str(), mode) != 0 && errno != EEXIST) {
          throw_sys("mkdir inside the rootfs", walked);
        }
        // Re-resolve within the root: the new entry (or a racing symlink) stays confined to it.
        next.reset(openat2_in_root(root_fd, walked.substr(1), flags));
      }
      if (!next) throw_sys("open inside the rootfs", walked);
      parent = std::move(next);
    }
    if (!restarted) return parent;
  }
  throw_sys("open inside the rootfs", path, ELOOP);
}

std::string fd_path(int fd) {
  return "/proc/self/fd/" + std::to_string(fd);
}

}  // namespace hanok::isolate
