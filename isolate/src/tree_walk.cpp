#include "isolate/tree_walk.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <set>
#include <utility>
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

bool same_file(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

// A directory being walked: what is left of its names, and which directory it is.
struct Level {
  std::vector<std::string> names;
  size_t next = 0;
  struct stat st {};
  std::string path;  // from the top ("" for the top)
  std::string name;  // in its parent
};

// The directory of the last level, found again from the top, level by level, each checked to be
// the directory it was: where ".." did not lead back (a directory below it was moved away).
UniqueFd reopen_from_top(int top_fd, const std::vector<Level>& levels) {
  UniqueFd current(::fcntl(top_fd, F_DUPFD_CLOEXEC, 3));
  if (!current) throw_sys("dup the top of a tree", "");
  for (size_t i = 1; i < levels.size(); ++i) {
    UniqueFd next(::openat(current.get(), levels[i].name.c_str(),
                           O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    struct stat st {};
    if (!next || ::fstat(next.get(), &st) != 0 || !same_file(st, levels[i].st)) {
      throw Error(ErrorKind::Internal, levels[i].path + ": moved while it was being walked");
    }
    current = std::move(next);
  }
  return current;
}
}  // namespace

// Depth first, holding one directory fd at a time (however deep the tree): a level is entered
// below the fd of its parent, and left through "..", which must lead back to the directory the
// parent was; where it does not (the level was moved away), the parent is found again from the
// top by name.
void walk_tree(int top_fd, const std::function<bool(const TreeEntry&)>& visit,
               const TreeWalkOptions& options) {
  UniqueFd current(::fcntl(top_fd, F_DUPFD_CLOEXEC, 3));
  if (!current) throw_sys("dup the top of a tree", "");
  std::vector<Level> levels(1);
  if (::fstat(current.get(), &levels[0].st) != 0) throw_sys("stat the top of a tree", "");
  const dev_t device = levels[0].st.st_dev;
  levels[0].names = names_in(current.get(), "/", options.sorted);
  while (!levels.empty()) {
    Level& level = levels.back();
    if (level.next == level.names.size()) {
      levels.pop_back();
      if (levels.empty()) break;
      UniqueFd up(::openat(current.get(), "..", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      struct stat st {};
      if (!up || ::fstat(up.get(), &st) != 0 || !same_file(st, levels.back().st)) {
        up = reopen_from_top(top_fd, levels);
      }
      current = std::move(up);
      continue;
    }
    TreeEntry entry;
    entry.dir_fd = current.get();
    entry.name = level.names[level.next++];
    entry.path = level.path.empty() ? entry.name : level.path + "/" + entry.name;
    if (::fstatat(current.get(), entry.name.c_str(), &entry.st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;  // gone meanwhile
      throw_sys("stat", entry.path);
    }
    bool descend = visit(entry);
    if (!descend || !S_ISDIR(entry.st.st_mode)) continue;
    if (options.same_filesystem && entry.st.st_dev != device) continue;
    if (static_cast<int>(levels.size()) > options.max_depth) {
      throw Error(
          ErrorKind::Invalid,
          entry.path + ": more than " + std::to_string(options.max_depth) + " nested directories");
    }
    UniqueFd sub(::openat(current.get(), entry.name.c_str(),
                          O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!sub) {
      if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP) continue;  // swapped meanwhile
      throw_sys("open", entry.path);
    }
    Level below;
    if (::fstat(sub.get(), &below.st) != 0) throw_sys("stat", entry.path);
    if (!same_file(below.st, entry.st)) continue;  // swapped meanwhile
    below.names = names_in(sub.get(), entry.path, options.sorted);
    below.path = entry.path;
    below.name = entry.name;
    current = std::move(sub);
    levels.push_back(std::move(below));
  }
}

TreeUsage tree_usage(const std::string& dir) {
  TreeUsage usage;
  UniqueFd top(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  struct stat top_st {};
  if (!top || ::fstat(top.get(), &top_st) != 0) return usage;
  std::set<std::pair<dev_t, ino_t>> seen;
  try {
    walk_tree(top.get(), [&](const TreeEntry& entry) {
      if (entry.st.st_dev != top_st.st_dev) return false;  // another file system's
      // Each inode once: only one with more links can come again, so only those are remembered
      // (a layer of a million files would otherwise hold a million entries).
      bool first = entry.st.st_nlink <= 1 || S_ISDIR(entry.st.st_mode) ||
                   seen.insert({entry.st.st_dev, entry.st.st_ino}).second;
      if (first) {
        usage.bytes += static_cast<uint64_t>(entry.st.st_blocks) * 512;
        ++usage.inodes;
      }
      return true;
    });
  } catch (const std::exception&) {
    // Counted as far as it could be.
  }
  return usage;
}

}  // namespace hanok::isolate
