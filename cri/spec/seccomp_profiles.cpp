#include "seccomp_profiles.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "isolate/error.hpp"
#include "isolate/files.hpp"
#include "isolate/unique_fd.hpp"
#include "seccomp_default.hpp"

namespace hanok::cri {

namespace {
isolate::Error invalid(const std::string& field, const std::string& what) {
  return isolate::Error(isolate::ErrorKind::Invalid, field + ": " + what);
}

SeccompChoice localhost(const std::string& path, const std::string& field) {
  if (path.empty() || path[0] != '/') {
    throw invalid(field, "localhost profile \"" + path + "\" is not an absolute path");
  }
  return {SeccompKind::Localhost, path};
}

bool contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

std::vector<std::string> strings(const nlohmann::json& node) {
  std::vector<std::string> out;
  if (!node.is_array()) return out;
  for (const auto& item : node) {
    if (item.is_string()) out.push_back(item.get<std::string>());
  }
  return out;
}

// moby's architecture names for this host, as its includes/excludes "arches" use them.
bool is_host_arch(const std::string& arch) {
  return arch == "amd64" || arch == "x86_64" || arch == "SCMP_ARCH_X86_64";
}

// Whether a moby rule's includes/excludes let it apply to this host and capability set.
bool rule_applies(const nlohmann::json& rule, const std::vector<std::string>& capabilities) {
  if (auto it = rule.find("includes"); it != rule.end() && it->is_object()) {
    for (const auto& cap : strings(it->value("caps", nlohmann::json::array()))) {
      if (!contains(capabilities, cap)) return false;
    }
    auto arches = strings(it->value("arches", nlohmann::json::array()));
    if (!arches.empty() && std::none_of(arches.begin(), arches.end(), is_host_arch)) return false;
  }
  if (auto it = rule.find("excludes"); it != rule.end() && it->is_object()) {
    for (const auto& cap : strings(it->value("caps", nlohmann::json::array()))) {
      if (contains(capabilities, cap)) return false;
    }
    auto arches = strings(it->value("arches", nlohmann::json::array()));
    if (std::any_of(arches.begin(), arches.end(), is_host_arch)) return false;
  }
  return true;
}
// The profile file: a regular file of sane size (never a fifo or a device that would hang or
// flood hanokd), symlinks followed (profiles are the node admin's files).
std::string read_profile_file(const std::string& path, const std::string& field) {
  constexpr off_t kMaxProfile = 4 << 20;
  isolate::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!fd) {
    throw invalid(field, "seccomp profile " + path + ": " + isolate::errno_text(errno));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > kMaxProfile) {
    throw invalid(field, "seccomp profile " + path + " is not a regular file of at most 4 MiB");
  }
  std::string text(static_cast<size_t>(st.st_size), '\0');
  ssize_t got = ::pread(fd.get(), text.data(), text.size(), 0);
  if (got < 0) isolate::throw_sys("read the seccomp profile", path);
  text.resize(static_cast<size_t>(got));
  return text;
}
}  // namespace

SeccompChoice choose_seccomp(const runtime::v1::SecurityProfile* profile,
                             const std::string& profile_path, const std::string& field) {
  if (profile != nullptr) {
    switch (profile->profile_type()) {
      case runtime::v1::SecurityProfile::RuntimeDefault:
        return {SeccompKind::RuntimeDefault, ""};
      case runtime::v1::SecurityProfile::Unconfined:
        return {SeccompKind::Unconfined, ""};
      case runtime::v1::SecurityProfile::Localhost: {
        std::string ref = profile->localhost_ref();
        if (ref.rfind("localhost/", 0) == 0) ref = ref.substr(10);
        return localhost(ref, field);
      }
      default:
        throw invalid(field, "unknown seccomp profile type " +
                                 std::to_string(static_cast<int>(profile->profile_type())));
    }
  }
  if (profile_path.empty() || profile_path == "unconfined") return {SeccompKind::Unconfined, ""};
  if (profile_path == "runtime/default" || profile_path == "docker/default") {
    return {SeccompKind::RuntimeDefault, ""};
  }
  if (profile_path.rfind("localhost/", 0) == 0) return localhost(profile_path.substr(10), field);
  throw invalid(field, "invalid seccomp profile \"" + profile_path +
                           "\" (want unconfined, runtime/default, docker/default or "
                           "localhost/<absolute path>)");
}

nlohmann::json oci_seccomp_from_profile(const nlohmann::json& profile,
                                        const std::vector<std::string>& capabilities) {
  nlohmann::json out = nlohmann::json::object();
  out["defaultAction"] = profile.at("defaultAction");
  for (const char* key : {"defaultErrnoRet", "flags", "listenerPath", "listenerMetadata"}) {
    if (profile.contains(key)) out[key] = profile[key];
  }
  if (profile.contains("architectures")) {
    out["architectures"] = profile["architectures"];
  } else if (auto map = profile.find("archMap"); map != profile.end() && map->is_array()) {
    nlohmann::json arches = nlohmann::json::array();
    for (const auto& entry : *map) {
      if (!entry.is_object() || entry.value("architecture", "") != "SCMP_ARCH_X86_64") continue;
      arches.push_back(entry["architecture"]);
      for (const auto& sub : strings(entry.value("subArchitectures", nlohmann::json::array()))) {
        arches.push_back(sub);
      }
    }
    if (!arches.empty()) out["architectures"] = arches;
  }
  nlohmann::json syscalls = nlohmann::json::array();
  if (auto rules = profile.find("syscalls"); rules != profile.end() && rules->is_array()) {
    for (const auto& rule : *rules) {
      if (!rule.is_object() || !rule_applies(rule, capabilities)) continue;
      nlohmann::json entry = nlohmann::json::object();
      if (rule.contains("names")) {
        entry["names"] = rule["names"];
      } else if (rule.contains("name")) {
        entry["names"] = nlohmann::json::array({rule["name"]});
      } else {
        continue;
      }
      entry["action"] = rule.at("action");
      for (const char* key : {"errnoRet", "args"}) {
        if (rule.contains(key) && !rule[key].is_null()) entry[key] = rule[key];
      }
      syscalls.push_back(std::move(entry));
    }
  }
  out["syscalls"] = syscalls;
  return out;
}

std::optional<nlohmann::json> seccomp_for(const SeccompChoice& choice,
                                          const std::vector<std::string>& capabilities,
                                          const std::string& field) {
  switch (choice.kind) {
    case SeccompKind::Unconfined:
      return std::nullopt;
    case SeccompKind::RuntimeDefault:
      return default_seccomp_profile(capabilities);
    case SeccompKind::Localhost:
      break;
  }
  auto text = read_profile_file(choice.localhost_path, field);
  auto profile = nlohmann::json::parse(text, nullptr, false);
  if (profile.is_discarded() || !profile.is_object() || !profile.contains("defaultAction")) {
    throw invalid(field, "seccomp profile " + choice.localhost_path +
                             " is not a seccomp profile (JSON with a defaultAction)");
  }
  try {
    return oci_seccomp_from_profile(profile, capabilities);
  } catch (const nlohmann::json::exception& e) {
    throw invalid(field, "seccomp profile " + choice.localhost_path + ": " + e.what());
  }
}

}  // namespace hanok::cri
