// Walking a directory tree that a container or an image controls, by fds: each directory is
// opened below its parent's fd (O_DIRECTORY | O_NOFOLLOW), never by a path looked up again, so a
// directory swapped for a symlink meanwhile leads nowhere; nothing but directories is opened.
// One directory fd is held at a time, however deep the tree (its parent is found again by "..",
// checked to be the same directory).
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <functional>
#include <string>

namespace hanok::isolate {

struct TreeEntry {
  int dir_fd = -1;    // the directory that holds it
  std::string name;   // its name there
  std::string path;   // from the top: "a/b/c"
  struct stat st {};  // fstatat(AT_SYMLINK_NOFOLLOW)
};

struct TreeWalkOptions {
  bool same_filesystem = true;  // directories of other file systems are not entered
  bool sorted = false;          // names in byte order in each directory
  int max_depth = 1 << 16;      // deeper is an error (the names of every level are held)
};

// Calls `visit` for every entry below the directory `top_fd` (not the top itself), a directory
// before what it holds; `visit` returning false for a directory skips its contents. Entries gone
// or swapped meanwhile are skipped. Throws SysError when a directory cannot be read, Error past
// max_depth or when a directory being walked was moved elsewhere.
void walk_tree(int top_fd, const std::function<bool(const TreeEntry&)>& visit,
               const TreeWalkOptions& options = {});

struct TreeUsage {
  uint64_t bytes = 0;  // allocated blocks, as du counts them
  uint64_t inodes = 0;
};
// What the tree below `dir` takes (the entries, not `dir` itself), each inode once (hard links),
// not counting nor entering other file systems (a mount below it). Walked as walk_tree does, so
// a tree a container controls is safe to measure; never throws: what could not be walked (a
// directory gone or moved meanwhile) is left out.
TreeUsage tree_usage(const std::string& dir);

}  // namespace hanok::isolate
