// The config.json `hanok spec` writes: the same content as `runc spec`.
#include "oci/spec.hpp"

namespace hanok::oci {

namespace {

using nlohmann::json;

json mount(const char* destination, const char* type, const char* source,
           std::initializer_list<const char*> options) {
  json m = {{"destination", destination}, {"type", type}, {"source", source}};
  if (options.size() != 0) {
    json list = json::array();
    for (const char* option : options) list.push_back(option);
    m["options"] = std::move(list);
  }
  return m;
}

}  // namespace

json default_spec_json() {
  const json default_caps = json::array({"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"});
  json process = {
      {"terminal", true},
      {"user", {{"uid", 0}, {"gid", 0}}},
      {"args", json::array({"sh"})},
      {"env", json::array({"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                           "TERM=xterm"})},
      {"cwd", "/"},
      {"capabilities",
       {{"bounding", default_caps}, {"effective", default_caps}, {"permitted", default_caps}}},
      {"rlimits", json::array({{{"type", "RLIMIT_NOFILE"}, {"hard", 1024}, {"soft", 1024}}})},
      {"noNewPrivileges", true},
  };
  json mounts = json::array({
      mount("/proc", "proc", "proc", {}),
      mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
      mount("/dev/pts", "devpts", "devpts",
            {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}),
      mount("/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}),
      mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}),
      mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}),
      mount("/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev", "relatime", "ro"}),
  });
  json linux = {
      {"resources", {{"devices", json::array({{{"allow", false}, {"access", "rwm"}}})}}},
      {"namespaces", json::array({{{"type", "pid"}},
                                  {{"type", "network"}},
                                  {{"type", "ipc"}},
                                  {{"type", "uts"}},
                                  {{"type", "mount"}}})},
      {"maskedPaths", json::array({"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                                   "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                                   "/proc/sched_debug", "/sys/firmware", "/proc/scsi",
                                   "/sys/devices/virtual/tpm"})},
      {"readonlyPaths",
       json::array({"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"})},
  };
  return {
      {"ociVersion", "1.2.0"},
      {"process", std::move(process)},
      {"root", {{"path", "rootfs"}, {"readonly", true}}},
      {"hostname", "hanok"},
      {"mounts", std::move(mounts)},
      {"linux", std::move(linux)},
  };
}

}  // namespace hanok::oci
