#include "isolate/lsm.hpp"

#include <unistd.h>

#include "isolate/files.hpp"

namespace hanok::isolate {

bool apparmor_enabled() {
  auto enabled = read_file_if_exists("/sys/module/apparmor/parameters/enabled");
  return enabled && !enabled->empty() && (*enabled)[0] == 'Y';
}

bool selinux_enabled() {
  return ::access("/sys/fs/selinux/enforce", F_OK) == 0;
}

}  // namespace hanok::isolate
