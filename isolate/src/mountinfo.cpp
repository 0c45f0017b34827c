#include "isolate/mountinfo.hpp"

#include <algorithm>
#include <string_view>

#include "isolate/files.hpp"
#include "isolate/text.hpp"

namespace hanok::isolate {

bool MountInfo::shared() const {
  return std::any_of(optional_fields.begin(), optional_fields.end(),
                     [](const std::string& field) { return field.rfind("shared:", 0) == 0; });
}

bool MountInfo::slave() const {
  return std::any_of(optional_fields.begin(), optional_fields.end(),
                     [](const std::string& field) { return field.rfind("master:", 0) == 0; });
}

std::vector<MountInfo> read_mountinfo(int pid) {
  std::string path =
      pid == 0 ? "/proc/self/mountinfo" : "/proc/" + std::to_string(pid) + "/mountinfo";
  std::string text = read_file(path);
  std::vector<MountInfo> mounts;
  for (std::string_view line : split(text, "\n")) {
    // id parent maj:min root mount-point options [optional...] - fstype source super-options
    std::vector<std::string_view> fields = split(line, " ");
    if (fields.size() < 10) continue;
    auto dash = std::find(fields.begin() + 6, fields.end(), std::string_view("-"));
    if (fields.end() - dash < 4) continue;
    MountInfo mount;
    mount.root = unescape_mountinfo(fields[3]);
    mount.mount_point = unescape_mountinfo(fields[4]);
    for (auto it = fields.begin() + 6; it != dash; ++it) mount.optional_fields.emplace_back(*it);
    mount.fstype = std::string(dash[1]);
    mount.source = unescape_mountinfo(dash[2]);
    mount.super_options = std::string(dash[3]);
    mounts.push_back(std::move(mount));
  }
  return mounts;
}

std::optional<MountInfo> mount_holding(const std::vector<MountInfo>& mounts,
                                       const std::string& path) {
  std::optional<MountInfo> found;
  size_t best = 0;
  for (const auto& mount : mounts) {
    const std::string& point = mount.mount_point;
    bool holds = point == "/" || path == point ||
                 (path.size() > point.size() && path.compare(0, point.size(), point) == 0 &&
                  path[point.size()] == '/');
    // The longest mount point wins; of equal ones the last (mounted over the others).
    if (holds && (!found || point.size() >= best)) {
      found = mount;
      best = point.size();
    }
  }
  return found;
}

}  // namespace hanok::isolate
