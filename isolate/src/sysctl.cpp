#include "isolate/sysctl.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <stdexcept>

#include "isolate/error.hpp"
#include "isolate/mounts.hpp"

namespace hanok::isolate {

PrivateProcfs PrivateProcfs::open() {
  return PrivateProcfs(new_filesystem("proc", "proc", 0, "", "a private procfs for sysctls"));
}

void PrivateProcfs::write_sysctl(const std::string& key, const std::string& value) const {
  const std::string field = "linux.sysctl." + key;
  std::string relative = "sys/" + key;
  for (size_t i = 4; i < relative.size(); ++i) {
    if (relative[i] == '.') relative[i] = '/';
  }
  open_how how{};
  how.flags = O_WRONLY | O_CLOEXEC | O_NOFOLLOW;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_XDEV | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  UniqueFd file(
      static_cast<int>(::syscall(SYS_openat2, root_.get(), relative.c_str(), &how, sizeof how)));
  if (!file) throw_sys(field + ": open", "/proc/" + relative);
  struct statfs fs {};
  if (::fstatfs(file.get(), &fs) != 0) throw_sys(field + ": statfs", "/proc/" + relative);
  if (fs.f_type != PROC_SUPER_MAGIC) {
    throw std::runtime_error(field + ": /proc/" + relative + " is not a procfs file");
  }
  ssize_t written;
  do {
    written = ::write(file.get(), value.data(), value.size());
  } while (written < 0 && errno == EINTR);
  if (written < 0) throw_sys(field + ": write " + value + " to", "/proc/" + relative);
}

}  // namespace hanok::isolate
