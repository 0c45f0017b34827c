// Sysctls written through a procfs of the writer's own that is mounted nowhere: no mount, bind
// or symlink of the container's (its masked and read-only paths, a volume over /proc/sys) can
// lie over the file a value goes to, whenever it is written.
#pragma once

#include <string>

#include "isolate/unique_fd.hpp"

namespace hanok::isolate {

class PrivateProcfs {
 public:
  // A new procfs instance of the caller's PID namespace (fsopen/fsmount), detached. Made before
  // paths are masked: inside a user namespace the kernel refuses a procfs where the visible one
  // is partly covered.
  static PrivateProcfs open();

  // `key` as the OCI config has it ("net.ipv4.ip_forward"; every '.' becomes '/', as runc does),
  // resolved below this procfs without crossing a mount or following any link, checked to be a
  // procfs file, written with one write(2). Errors name the key: "linux.sysctl.<key>: ...".
  void write_sysctl(const std::string& key, const std::string& value) const;

 private:
  explicit PrivateProcfs(UniqueFd root) : root_(std::move(root)) {}
  UniqueFd root_;
};

}  // namespace hanok::isolate
