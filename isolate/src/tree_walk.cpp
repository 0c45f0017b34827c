#include "isolate/tree_walk.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "isolate/error.hpp"
#include "isolate/unique_fd.hpp"

namespace hanok::isolate {

namespace {
std::vector<std::string> names_in(int dir_fd, const std::string& shown, bool sorted) {
  UniqueFd listing(::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!listing) throw_sys("open", shown);
  DIR* dir = ::fdopendir(listing.get());
  if (dir == nullptr) throw_sys("read the directory", shown);
  listing.release();
  std::unique_ptr<DIR, int (*)(DIR*)> closer(dir, ::closedir);
  std::vector<std::string> names;
  errno = 0;
  while (dirent* entry = ::readdir(dir)) {
    std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(std::move(name));
  }
  if (errno != 0) throw_sys("read the directory", shown);
  if (sorted) std::sort(names.begin(), names.end());
  return names;
}

void walk_dir(int dir_fd, const std::string& prefix, dev_t device, int depth,
              const std::function<bool(const TreeEntry&)>& visit,
              const TreeWalkOptions& options) {
  if (depth > options.max_depth) {
    throw Error(ErrorKind::Invalid, (prefix.empty() ? std::string("/") : prefix) +
                                        ": more than " + std::to_string(options.max_depth) +
                                        " nested directories");
  }
  for (const auto& name : names_in(dir_fd, prefix.empty() ? "/" : prefix, options.sorted)) {
    TreeEntry entry;
    entry.dir_fd = dir_fd;
    entry.name = name;
    entry.path = prefix.empty() ? name : prefix + "/" + name;
    if (::fstatat(dir_fd, name.c_str(), &entry.st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;  // gone meanwhile
      throw_sys("stat", entry.path);
    }
    bool descend = visit(entry);
    if (!descend || !S_ISDIR(entry.st.st_mode)) continue;
    if (options.same_filesystem && entry.st.st_dev != device) continue;
    UniqueFd sub(::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!sub) {
      if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP) continue;  // swapped meanwhile
      throw_sys("open", entry.path);
    }
    struct stat opened {};
    if (::fstat(sub.get(), &opened) != 0) throw_sys("stat", entry.path);
    if (opened.st_dev != entry.st.st_dev || opened.st_ino != entry.st.st_ino) continue;
    walk_dir(sub.get(), entry.path, device, depth + 1, visit, options);
  }
}
}  // namespace

void walk_tree(int top_fd, const std::function<bool(const TreeEntry&)>& visit,
               const TreeWalkOptions& options) {
  struct stat top {};
  if (::fstat(top_fd, &top) != 0) throw_sys("stat the top of a tree", "");
  walk_dir(top_fd, "", top.st_dev, 0, visit, options);
}

}  // namespace hanok::isolate
