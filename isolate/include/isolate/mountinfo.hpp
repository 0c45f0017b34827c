// /proc/<pid>/mountinfo, parsed: one record per mount, paths unescaped.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace hanok::isolate {

struct MountInfo {
  std::string root;                          // the mount's root within its file system
  std::string mount_point;                   // where it is mounted
  std::vector<std::string> optional_fields;  // "shared:N", "master:N", ...
  std::string fstype;
  std::string source;
  std::string super_options;

  bool shared() const;  // a "shared:N" peer group
  bool slave() const;   // a "master:N" it receives from
};

// Every mount of `pid` (0: this process), in the order of the file. Throws SysError.
std::vector<MountInfo> read_mountinfo(int pid = 0);
// The mount `path` (absolute, symlinks resolved) is on: the last mount whose mount point is it
// or one of its parent directories. nullopt when none is (never, with "/" mounted).
std::optional<MountInfo> mount_holding(const std::vector<MountInfo>& mounts,
                                       const std::string& path);

}  // namespace hanok::isolate
