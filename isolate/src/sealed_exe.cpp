#include "isolate/sealed_exe.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <string_view>

#include "isolate/error.hpp"
#include "isolate/unique_fd.hpp"

namespace hanok::isolate {

namespace {
constexpr int kRequiredSeals = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;
constexpr const char* kMemfdName = "hanok";
constexpr std::string_view kMemfdPath = "/memfd:hanok ";  // the kernel adds "(deleted)"

bool running_sealed() {
  UniqueFd self(::open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
  if (!self) return false;
  int seals = ::fcntl(self.get(), F_GET_SEALS);
  return seals >= 0 && (seals & kRequiredSeals) == kRequiredSeals;
}
}  // namespace

bool runs_sealed_copy(pid_t pid) {
  char target[64] = {};
  std::string link = "/proc/" + std::to_string(pid) + "/exe";
  ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
  return n > 0 && std::string_view(target, static_cast<size_t>(n)).rfind(kMemfdPath, 0) == 0;
}

void reexec_from_sealed_copy(char** argv, char** envp) {
  if (running_sealed()) return;
  UniqueFd self(::open("/proc/self/exe", O_RDONLY | O_CLOEXEC));
  if (!self) throw_sys("open", "/proc/self/exe");
  struct stat st {};
  if (::fstat(self.get(), &st) != 0) throw_sys("stat", "/proc/self/exe");
  UniqueFd copy(::memfd_create(kMemfdName, MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!copy) throw_sys("memfd_create", "hanok");
  off_t offset = 0;
  while (offset < st.st_size) {
    ssize_t n =
        ::sendfile(copy.get(), self.get(), &offset, static_cast<size_t>(st.st_size - offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw_sys("copy the runtime binary into a memfd", "/proc/self/exe");
  }
  if (::fcntl(copy.get(), F_ADD_SEALS, kRequiredSeals) != 0) throw_sys("seal", "memfd");
  ::fexecve(copy.get(), argv, envp);
  throw_sys("re-execute from the sealed copy", "memfd");
}

}  // namespace hanok::isolate
