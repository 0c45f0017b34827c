// What every cgroup user needs before picking a version: the host's cgroup mode, opening a
// cgroup by path (validated), and systemd's slice naming.
#include <linux/magic.h>
#include <sys/statfs.h>

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "cgroup_v1.hpp"
#include "cgroup_v2.hpp"
#include "isolate/cgroup.hpp"
#include "isolate/files.hpp"
#include "isolate/text.hpp"

namespace hanok::isolate::cgroup {

namespace {

bool is_cgroup2(const char* path) {
  struct statfs fs {};
  return ::statfs(path, &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC;
}

Mode probe_mode() {
  if (is_cgroup2("/sys/fs/cgroup")) return Mode::Unified;
  if (is_cgroup2("/sys/fs/cgroup/unified")) return Mode::Hybrid;
  return Mode::Legacy;
}

[[noreturn]] void invalid_path(const std::string& value, std::string_view why) {
  throw std::invalid_argument("linux.cgroupsPath: \"" + value + "\": " + std::string(why));
}

// "/a//b/./c/" -> "/a/b/c"; throws on relative paths and ".." components.
std::string clean_cgroup_path(const std::string& path) {
  if (path.empty() || path[0] != '/') invalid_path(path, "must be an absolute path");
  std::string clean;
  size_t pos = 0;
  while (pos < path.size()) {
    size_t end = path.find('/', pos);
    if (end == std::string::npos) end = path.size();
    std::string_view part(path.data() + pos, end - pos);
    if (part == "..") invalid_path(path, "must not contain \"..\"");
    if (!part.empty() && part != ".") {
      clean += '/';
      clean += part;
    }
    pos = end + 1;
  }
  return clean.empty() ? "/" : clean;
}

constexpr std::string_view kSliceSuffix = ".slice";
constexpr size_t kUnitNameMax = 255;  // systemd's UNIT_NAME_MAX without the NUL

// systemd's unit name characters: letters, digits and ":-_.\" (no '@': slices cannot be
// templated).
bool valid_unit_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ':' ||
         c == '-' || c == '_' || c == '.' || c == '\\';
}

[[noreturn]] void invalid_slice(const std::string& slice, std::string_view why) {
  throw std::invalid_argument("linux.cgroupsPath: invalid slice name \"" + slice +
                              "\": " + std::string(why));
}

void check_unit_chars(const std::string& name, std::string_view what) {
  if (name.size() > kUnitNameMax) {
    throw std::invalid_argument("linux.cgroupsPath: " + std::string(what) + " \"" + name +
                                "\" is longer than 255 characters");
  }
  for (char c : name) {
    if (!valid_unit_char(c)) {
      throw std::invalid_argument("linux.cgroupsPath: " + std::string(what) + " \"" + name +
                                  "\" contains '" + std::string(1, c) +
                                  "', which systemd unit names cannot hold");
    }
  }
}

}  // namespace

Mode detect_mode() {
  static const Mode mode = probe_mode();  // initialised once, thread-safe
  return mode;
}

const char* mode_name(Mode mode) {
  switch (mode) {
    case Mode::Unified:
      return "unified";
    case Mode::Hybrid:
      return "hybrid";
    case Mode::Legacy:
      return "legacy";
  }
  return "unknown";
}

std::unique_ptr<Cgroup> open_cgroup(const std::string& path, Mode mode, const std::string& root) {
  return open_cgroup(Location{path, {}}, mode, root);
}

std::unique_ptr<Cgroup> open_cgroup(const Location& location, Mode mode, const std::string& root) {
  std::string clean = clean_cgroup_path(location.path);
  if (mode == Mode::Unified) return make_cgroup_v2(clean, root);
  std::map<std::string, std::string> controller_paths;
  for (const auto& [controller, path] : location.controller_paths) {
    controller_paths[controller] = clean_cgroup_path(path);
  }
  return make_cgroup_v1(clean, controller_paths, root, mode);
}

namespace {
// "/a/b" + "c/d" -> "/a/b/c/d", refusing ".." and a result that is the hierarchy root.
std::string below(const std::string& base, const std::string& relative,
                  const std::string& cgroups_path) {
  std::string joined = clean_cgroup_path((base == "/" ? "" : base) + "/" + relative);
  if (joined == "/") invalid_path(cgroups_path, "is the root of the hierarchy");
  return joined;
}

std::string parent_of(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
}
}  // namespace

Location locate_cgroup(const std::string& cgroups_path, Mode mode, const std::string& self_cgroup) {
  for (std::string_view part : split(cgroups_path, "/")) {
    if (part == "..") invalid_path(cgroups_path, "must not contain \"..\"");
  }
  if (!cgroups_path.empty() && cgroups_path[0] == '/') {
    std::string clean = clean_cgroup_path(cgroups_path);
    if (clean == "/") invalid_path(cgroups_path, "is the root of the hierarchy");
    return Location{clean, {}};
  }
  // /proc/self/cgroup: "hierarchy-id:controller[,controller]:path"; "0::path" is cgroup v2.
  std::map<std::string, std::string> own;
  for (std::string_view line : split(self_cgroup, "\n")) {
    size_t first = line.find(':');
    size_t second = first == std::string_view::npos ? first : line.find(':', first + 1);
    if (second == std::string_view::npos) continue;
    std::string_view controllers = line.substr(first + 1, second - first - 1);
    std::string path(line.substr(second + 1));
    if (controllers.empty()) {
      own[""] = path;
      continue;
    }
    for (std::string_view controller : split(controllers, ",")) own[std::string(controller)] = path;
  }
  if (mode == Mode::Unified) {
    return Location{below(parent_of(own.count("") ? own[""] : "/"), cgroups_path, cgroups_path),
                    {}};
  }
  Location location;
  for (const auto& [controller, path] : own) {
    location.controller_paths[controller] = below(path, cgroups_path, cgroups_path);
  }
  // The path shown for the cgroup: the memory hierarchy's, where processes are listed.
  auto memory = location.controller_paths.find("memory");
  location.path = memory != location.controller_paths.end()
                      ? memory->second
                      : below("/", cgroups_path, cgroups_path);
  return location;
}

Location locate_cgroup(const std::string& cgroups_path) {
  std::string self = cgroups_path.empty() || cgroups_path[0] != '/' ? read_file("/proc/self/cgroup")
                                                                    : std::string();
  return locate_cgroup(cgroups_path, detect_mode(), self);
}

// systemd: "the name consists of a dash-separated series of names, which describes the path to
// the slice from the root slice", e.g. foo-bar.slice lives in foo.slice; the root is "-.slice".
std::string expand_slice(const std::string& slice) {
  if (slice.size() <= kSliceSuffix.size() || !slice.ends_with(kSliceSuffix)) {
    invalid_slice(slice, "must end in \".slice\" after a name");
  }
  if (slice.find('/') != std::string::npos) invalid_slice(slice, "must not contain '/'");
  check_unit_chars(slice, "slice");
  std::string base = slice.substr(0, slice.size() - kSliceSuffix.size());
  if (base == "-") return "/";
  if (base.front() == '-' || base.back() == '-') {
    invalid_slice(slice, "must not begin or end with '-'");
  }
  if (base.find("--") != std::string::npos) invalid_slice(slice, "must not contain \"--\"");

  std::string path;
  std::string prefix;
  for (const std::string& component : split_exact(base, '-')) {
    path += '/';
    path += prefix;
    path += component;
    path += kSliceSuffix;
    prefix += component;
    prefix += '-';
  }
  return path;
}

// runc: the unit is "<prefix>-<name>.scope", or "<name>" itself when it is a slice; either way
// it lives directly in the expanded parent slice.
std::string systemd_cgroup_path(const std::string& slice_prefix_name) {
  std::vector<std::string> parts = split_exact(slice_prefix_name, ':');
  if (parts.size() != 3) {
    throw std::invalid_argument("linux.cgroupsPath: expected \"slice:prefix:name\" for the " +
                                std::string("systemd cgroup driver, got \"") + slice_prefix_name +
                                "\"");
  }
  const std::string& slice = parts[0].empty() ? std::string("system.slice") : parts[0];
  const std::string& prefix = parts[1];
  const std::string& name = parts[2];
  if (name.empty()) {
    throw std::invalid_argument("linux.cgroupsPath: \"" + slice_prefix_name +
                                "\": the name after the second ':' is empty");
  }

  std::string parent = expand_slice(slice);
  std::string unit;
  if (name.ends_with(kSliceSuffix)) {
    if (expand_slice(name) == "/") invalid_slice(name, "the root slice cannot be a child");
    unit = name;
  } else {
    check_unit_chars(prefix, "prefix");
    check_unit_chars(name, "name");
    unit = prefix + "-" + name + ".scope";
    check_unit_chars(unit, "unit");
  }

  return parent == "/" ? "/" + unit : parent + "/" + unit;
}

bool process_in_cgroup(pid_t pid, const std::string& path) {
  auto text = read_file_if_exists("/proc/" + std::to_string(pid) + "/cgroup");
  if (!text || path.empty()) return false;
  for (std::string_view line : split(*text, "\n")) {
    size_t colon = line.rfind(':');
    if (colon != std::string_view::npos && line.substr(colon + 1) == path) return true;
  }
  return false;
}

}  // namespace hanok::isolate::cgroup
