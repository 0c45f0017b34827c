// User-namespace id maps: formatting and writing them to /proc/<pid>/.
#include "isolate/ids.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "isolate/error.hpp"
#include "isolate/unique_fd.hpp"

namespace hanok::isolate {

namespace {

// The kernel wants each map in a single write(2).
void write_proc_file(const std::string& path, const std::string& content) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) throw_sys("open", path);
  ssize_t written = ::write(fd.get(), content.data(), content.size());
  if (written < 0) throw_sys("write", path);
  if (static_cast<size_t>(written) != content.size()) throw_sys("short write to", path, EIO);
}

}  // namespace

std::string format_id_map(const std::vector<IdMapping>& mappings) {
  std::string text;
  for (const auto& m : mappings) {
    text += std::to_string(m.container_id);
    text += ' ';
    text += std::to_string(m.host_id);
    text += ' ';
    text += std::to_string(m.size);
    text += '\n';
  }
  return text;
}

void write_id_maps(pid_t pid, const std::vector<IdMapping>& uid_map,
                   const std::vector<IdMapping>& gid_map, bool deny_setgroups) {
  const std::string proc = "/proc/" + std::to_string(pid) + "/";
  if (!uid_map.empty()) write_proc_file(proc + "uid_map", format_id_map(uid_map));
  if (deny_setgroups) write_proc_file(proc + "setgroups", "deny");
  if (!gid_map.empty()) write_proc_file(proc + "gid_map", format_id_map(gid_map));
}

}  // namespace hanok::isolate
