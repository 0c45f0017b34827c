// Mounts at or below /proc: what runc's checkProcMount allows, by name and by where a target
// really is.
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <stdexcept>
#include <string_view>

#include "isolate/error.hpp"
#include "isolate/in_root.hpp"
#include "isolate/mounts.hpp"

namespace hanok::isolate {

namespace {
// The files below /proc a container may have covered (LXCFS's views and two knobs).
constexpr std::array<std::string_view, 10> kCoverableProcFiles = {"/proc/cpuinfo",
                                                                  "/proc/diskstats",
                                                                  "/proc/meminfo",
                                                                  "/proc/stat",
                                                                  "/proc/swaps",
                                                                  "/proc/uptime",
                                                                  "/proc/loadavg",
                                                                  "/proc/slabinfo",
                                                                  "/proc/sys/kernel/ns_last_pid",
                                                                  "/proc/sys/crypto/fips_enabled"};

bool coverable(std::string_view destination) {
  for (auto file : kCoverableProcFiles) {
    if (destination == file) return true;
  }
  return false;
}

bool on_procfs(int fd) {
  struct statfs fs {};
  return ::fstatfs(fd, &fs) == 0 && fs.f_type == PROC_SUPER_MAGIC;
}
}  // namespace

std::string proc_mount_problem(const std::string& destination, bool bind, const std::string& type) {
  if (destination == "/proc") {
    if (bind || type == "proc") return {};  // a bind's source is checked when it is mounted
    return "\"/proc\" cannot be mounted because it is not of type proc";
  }
  if (destination.rfind("/proc/", 0) != 0 || coverable(destination)) return {};
  return "\"" + destination + "\" cannot be mounted because it is inside /proc";
}

void refuse_procfs_target(int root_fd, int target_fd, const std::string& destination) {
  if (!on_procfs(target_fd)) return;
  std::string clean = clean_absolute_path(destination);
  if (clean != "/proc" && !coverable(clean)) {
    throw std::runtime_error("\"" + destination +
                             "\" cannot be mounted because it resolves to a path inside /proc");
  }
  // Reached by its own name, not through a symlink that an image or a volume put on the way.
  open_how how{};
  how.flags = O_PATH | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  std::string relative = clean == "/" ? "." : clean.substr(1);
  UniqueFd direct(
      static_cast<int>(::syscall(SYS_openat2, root_fd, relative.c_str(), &how, sizeof how)));
  struct stat a {};
  struct stat b {};
  if (!direct || ::fstat(direct.get(), &a) != 0 || ::fstat(target_fd, &b) != 0 ||
      a.st_dev != b.st_dev || a.st_ino != b.st_ino) {
    throw std::runtime_error("\"" + destination +
                             "\" cannot be mounted: the path to it inside /proc is not its own");
  }
}

}  // namespace hanok::isolate
