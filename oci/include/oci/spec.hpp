// The OCI runtime-spec config.json (1.0 - 1.2) as typed structs. Linux only.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "isolate/capabilities.hpp"
#include "isolate/devices.hpp"
#include "isolate/error.hpp"
#include "isolate/ids.hpp"
#include "isolate/mount_options.hpp"
#include "isolate/namespaces.hpp"
#include "isolate/rlimits.hpp"
#include "isolate/seccomp.hpp"

namespace hanok::oci {

// A config.json that does not parse or validate. The message starts with the JSON path:
// `linux.namespaces[2].type: unknown namespace "foo"`.
class SpecError : public isolate::Error {
 public:
  explicit SpecError(const std::string& what) : isolate::Error(isolate::ErrorKind::Invalid, what) {}
};

struct User {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::optional<uint32_t> umask;
  std::vector<uint32_t> additional_gids;
};

struct ConsoleSize {
  unsigned height = 0;
  unsigned width = 0;
};

struct Process {
  bool terminal = false;
  std::optional<ConsoleSize> console_size;
  User user;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::string cwd = "/";
  isolate::CapabilitySets capabilities;  // absent: every set empty (as runc)
  std::vector<isolate::Rlimit> rlimits;
  bool no_new_privileges = false;
  std::optional<int> oom_score_adj;
  std::string apparmor_profile;
  std::string selinux_label;
};

struct Root {
  std::string path;  // as written; relative paths are relative to the bundle
  bool readonly = false;
};

struct Mount {
  std::string destination;
  std::string type;
  std::string source;
  std::vector<std::string> options;
  isolate::MountOptions parsed;  // `options` turned into flags and data
  std::vector<isolate::IdMapping> uid_mappings;
  std::vector<isolate::IdMapping> gid_mappings;
};

struct Hook {
  std::string path;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::optional<int> timeout;  // seconds, > 0
};

struct Hooks {
  std::vector<Hook> prestart;
  std::vector<Hook> create_runtime;
  std::vector<Hook> create_container;
  std::vector<Hook> start_container;
  std::vector<Hook> poststart;
  std::vector<Hook> poststop;
};

struct Namespace {
  isolate::NamespaceType type;
  std::string path;  // empty: create a new one
};

struct TimeOffset {
  int64_t secs = 0;
  uint32_t nanosecs = 0;
};

// (NOLINT: clang-tidy 14 cannot see that the implicit moves of nlohmann::json members do not
// throw.)
struct Linux {  // NOLINT(bugprone-exception-escape)
  std::vector<Namespace> namespaces;
  std::vector<isolate::IdMapping> uid_mappings;
  std::vector<isolate::IdMapping> gid_mappings;
  std::vector<isolate::DeviceNode> devices;
  std::string cgroups_path;
  nlohmann::json
      resources;  // linux.resources as given (null when absent); typed by the cgroup layer
  std::string rootfs_propagation;  // "", "shared", "slave", "private", "unbindable" (+ "r" forms)
  std::vector<std::string> masked_paths;
  std::vector<std::string> readonly_paths;
  std::map<std::string, std::string> sysctl;
  std::optional<isolate::SeccompProfile> seccomp;
  std::map<std::string, TimeOffset> time_offsets;  // "monotonic", "boottime"
  std::string mount_label;

  const Namespace* find_namespace(isolate::NamespaceType type) const;
  bool has_namespace(isolate::NamespaceType type) const { return find_namespace(type) != nullptr; }
};

struct Spec {  // NOLINT(bugprone-exception-escape): see Linux
  std::string oci_version;
  Root root;
  std::optional<Process> process;
  std::string hostname;
  std::string domainname;
  std::vector<Mount> mounts;
  Hooks hooks;
  std::map<std::string, std::string> annotations;
  Linux linux;
};

// Parses and validates config.json text. Unknown fields are ignored, as the spec says.
Spec parse_spec(const std::string& json_text);
// Reads <bundle>/config.json and parses it.
Spec load_spec(const std::string& bundle_dir);
// Validation alone (parse_spec calls it): cross-field rules such as "hostname needs a UTS
// namespace". Throws SpecError.
void validate_spec(const Spec& spec);

// The config `hanok spec` writes: runc's default (busybox `sh`, pid/ipc/uts/mount/network
// namespaces, the default mounts, masked and read-only paths, a read-only root "rootfs").
nlohmann::json default_spec_json();

}  // namespace hanok::oci
