// Small file helpers: whole-file reads and writes, atomic replacement, recursive removal.
#pragma once

#include <string>
#include <string_view>

namespace hanok::isolate {

std::string read_file(const std::string& path);
// Writes `content` to an existing file (a /proc or /sys knob, a cgroup file).
void write_existing_file(const std::string& path, std::string_view content);
// Writes to `path.tmp`, fsyncs, renames over `path`: readers see the old or the new file whole.
void write_file_atomic(const std::string& path, std::string_view content, unsigned mode = 0600);
// rm -rf without following symlinks and without leaving the directory's file system.
void remove_tree(const std::string& path);
// mkdir -p; existing directories are fine.
void make_dirs(const std::string& path, unsigned mode = 0755);
bool path_exists(const std::string& path);

}  // namespace hanok::isolate
