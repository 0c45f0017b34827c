// Paths resolved inside a root directory: "..", absolute symlinks and symlink chains are all
// confined to the root (openat2 RESOLVE_IN_ROOT), so a hostile rootfs cannot redirect a mount or
// a created file to the host.
#pragma once

#include <string>

#include "isolate/unique_fd.hpp"

namespace hanok::isolate {

enum class NodeKind { Directory, File };

// Opens `path` (as seen inside the root) below `root_fd`. Throws SysError.
UniqueFd open_in_root(int root_fd, const std::string& path, int flags);
// As open_in_root(O_PATH), creating missing components first: directories, and the last one as
// `kind` (an empty file for File).
UniqueFd ensure_in_root(int root_fd, const std::string& path, NodeKind kind, unsigned mode = 0755);
// Throws std::runtime_error when the working directory is not below the process's root: the
// kernel's getcwd(2) (not glibc's, which hides it) then starts with "(unreachable)", as it does
// for a directory of the host entered through a leaked fd (CVE-2024-21626). `field` names what
// set the directory.
void check_cwd_inside_root(const std::string& field);
// "/proc/self/fd/N": a path the kernel follows to exactly the object `fd` refers to.
std::string fd_path(int fd);
// "a/./b/../c" -> "/a/c": lexical clean-up, ".." never rising above "/".
std::string clean_absolute_path(const std::string& path);

}  // namespace hanok::isolate
