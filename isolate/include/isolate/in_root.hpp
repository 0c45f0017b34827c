// Paths resolved inside a root directory: "..", absolute symlinks and symlink chains are all
// confined to the root (openat2 RESOLVE_IN_ROOT), so a hostile rootfs cannot redirect a mount or
// a created file to the host.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

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
// A regular file of a tree an image or a container controls, open for reading, without ever
// opening anything else (a device's open can act: a watchdog reboots the node when closed):
// `name` in `dir_fd` is looked at with fstatat (no symlink followed) and must be the regular file
// `expected` describes (an fstatat of it); it is then opened O_PATH, checked to be that same
// file, and reopened through /proc/self/fd. Throws Error(Invalid) when it is not a regular file,
// or not the one expected (changed meanwhile).
UniqueFd open_regular_at(int dir_fd, const std::string& name, const struct stat& expected,
                         const std::string& shown);
// The same for `path` resolved inside the root: symlinks (the last component's too) followed by
// hand, inside the root. Returns an invalid fd when nothing is there (a symlink loop included).
UniqueFd open_regular_in_root(int root_fd, const std::string& path);
// Whether process `pid`'s root is the directory `root` describes (an fstat of it) and its
// working directory is that root or below it: the cwd is walked up by ".." until the root (yes)
// or the top of the mount tree it is on (no). False when it cannot tell (the process is gone).
bool process_confined_to(pid_t pid, const struct stat& root);
// "/proc/self/fd/N": a path the kernel follows to exactly the object `fd` refers to.
std::string fd_path(int fd);
// "a/./b/../c" -> "/a/c": lexical clean-up, ".." never rising above "/".
std::string clean_absolute_path(const std::string& path);
// The directory and the last name of `path` once cleaned: "/a/b/../c" -> "/a" and "c"; "/" for
// the directory of a top-level name.
std::string dirname_of(const std::string& path);
std::string basename_of(const std::string& path);

}  // namespace hanok::isolate
