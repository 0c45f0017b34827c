// The device nodes every container's /dev gets.
#include "isolate/devices.hpp"

namespace hanok::isolate {

namespace {

DeviceNode char_device(const char* path, int64_t major, int64_t minor) {
  DeviceNode node;
  node.path = path;
  node.type = 'c';
  node.major = major;
  node.minor = minor;
  node.file_mode = 0666;
  node.uid = 0;
  node.gid = 0;
  return node;
}

}  // namespace

const std::vector<DeviceNode>& default_devices() {
  static const std::vector<DeviceNode> devices = {
      char_device("/dev/null", 1, 3),    char_device("/dev/zero", 1, 5),
      char_device("/dev/full", 1, 7),    char_device("/dev/random", 1, 8),
      char_device("/dev/urandom", 1, 9), char_device("/dev/tty", 5, 0),
  };
  return devices;
}

}  // namespace hanok::isolate
