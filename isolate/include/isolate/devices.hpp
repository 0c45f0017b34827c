// Device nodes in a container's /dev.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace hanok::isolate {

struct DeviceNode {
  std::string path;  // absolute, inside the container
  char type = 'c';   // 'c' (or 'u'), 'b', 'p'
  int64_t major = 0;
  int64_t minor = 0;
  std::optional<uint32_t> file_mode;
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;
};

// null zero full random urandom tty, as every container gets them.
const std::vector<DeviceNode>& default_devices();

}  // namespace hanok::isolate
