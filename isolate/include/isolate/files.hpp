// Small file helpers: whole-file reads and writes, atomic replacement, recursive removal.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hanok::isolate {

std::string read_file(const std::string& path);
// The whole file, or nullopt when it is absent (ENOENT), or its kernel object went away or does
// not support reading (ENODEV, EOPNOTSUPP: a cgroup file racing with its controller's removal).
std::optional<std::string> read_file_if_exists(const std::string& path);
// Writes `value` to an existing kernel knob (a /proc or /sys file, a cgroup file) with a single
// write(2), as those files want. Errors: "<path>: write <value>: <errno text>".
void write_knob(const std::string& path, std::string_view value);
// Writes a new file of its own beside `path` (a random name, O_EXCL | O_NOFOLLOW, in the
// directory's fd), fsyncs it, renames it over `path` and fsyncs the directory: readers see the
// old or the new file whole, a crash leaves one of them, and nothing already there (a symlink
// planted at a fixed name) is followed or written.
void write_file_atomic(const std::string& path, std::string_view content, unsigned mode = 0600);
// rm -rf without following symlinks and without leaving the directory's file system.
void remove_tree(const std::string& path);
// mkdir -p; existing directories are fine.
void make_dirs(const std::string& path, unsigned mode = 0755);
bool path_exists(const std::string& path);
// The names in a directory (not "." or ".."), unsorted; none when it cannot be read.
std::vector<std::string> list_dir(const std::string& dir);
// The first `dir`/`name` of `dirs` that is executable; "" when none is (or `name` has a "/").
std::string find_executable(const std::string& name, const std::vector<std::string>& dirs);
// CRIU: $HANOK_CRIU when set, else criu in /usr/sbin, /usr/local/sbin, /sbin, /usr/bin; "" when
// not installed.
std::string find_criu();

}  // namespace hanok::isolate
