// Privileged containers in a privileged pod, next to an unprivileged one of the same pod asking
// for the same confinement: the privileged one has every capability hanokd has, the host's
// devices, no seccomp filter, none of the masked or read-only paths it was sent, and writable
// sysfs and cgroupfs; the unprivileged one has none of that. (A privileged container in a pod
// that is not privileged is refused: CriRuntime.SecurityContext.)
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <set>

#include "cri_fixture.hpp"

namespace hanok::test {
namespace {

using CriPrivileged = CriFixture;

// The paths the kubelet masks and makes read-only in a container that is not privileged.
const std::vector<std::string> kMaskedPaths = {"/proc/asound",
                                               "/proc/acpi",
                                               "/proc/kcore",
                                               "/proc/keys",
                                               "/proc/latency_stats",
                                               "/proc/timer_list",
                                               "/proc/timer_stats",
                                               "/proc/sched_debug",
                                               "/proc/scsi",
                                               "/sys/firmware",
                                               "/sys/devices/virtual/powercap"};
const std::vector<std::string> kReadonlyPaths = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                                 "/proc/sysrq-trigger"};

// The per-mount options (mountinfo's 6th field) of the mount at `point`, "" when none is there.
std::string mount_options(const std::string& mountinfo, const std::string& point) {
  std::istringstream lines(mountinfo);
  std::string options;
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    std::string id, parent, device, root, mount_point, mount_options;
    fields >> id >> parent >> device >> root >> mount_point >> mount_options;
    if (mount_point == point) options = mount_options;  // the last one is the one seen
  }
  return options;
}

bool read_only(const std::string& options) {
  return options == "ro" || options.rfind("ro,", 0) == 0;
}

// Every device node of the host's /dev, recursively, as "path major:minor", leaving out what a
// container gets of its own (pts, shm, mqueue, fd, the console) as containerd and runc do.
std::set<std::string> host_devices(const std::string& dir = "/dev") {
  static const std::set<std::string> skipped = {"pts", "shm", "fd", "mqueue", "console"};
  std::set<std::string> devices;
  for (const auto& name : entries_of(dir)) {
    if (skipped.count(name) != 0 || name.rfind('.', 0) == 0) continue;
    std::string path = dir + "/" + name;
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      auto below = host_devices(path);
      devices.insert(below.begin(), below.end());
    } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
      devices.insert(path + " " + std::to_string(major(st.st_rdev)) + ":" +
                     std::to_string(minor(st.st_rdev)));
    }
  }
  return devices;
}

// The same list as a container sees its /dev (busybox stat gives the numbers in hex).
std::set<std::string> devices_inside(
    const std::function<std::string(const std::string&)>& output_of) {
  std::set<std::string> devices;
  std::istringstream lines(
      output_of("find /dev -type c -o -type b | while read f; do stat -c '%n %t %T' \"$f\"; done"));
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    std::string path, major_hex, minor_hex;
    fields >> path >> major_hex >> minor_hex;
    devices.insert(path + " " + std::to_string(std::stoul(major_hex, nullptr, 16)) + ":" +
                   std::to_string(std::stoul(minor_hex, nullptr, 16)));
  }
  return devices;
}

uint64_t capability_mask(const std::string& status_text, const std::string& key) {
  return std::stoull(status_field(status_text, key), nullptr, 16);
}

TEST_F(CriPrivileged, EverythingTheHostHasAndNoConfinement) {
  ASSERT_TRUE(start_daemon());
  v1::PodSandboxConfig pod_config_privileged = pod_config("privileged");
  pod_config_privileged.mutable_linux()->mutable_security_context()->set_privileged(true);
  Pod pod = run_pod(pod_config_privileged);
  // Both ask for what the kubelet sends an unprivileged container: a seccomp profile, masked and
  // read-only paths.
  auto make = [&](const std::string& name, bool privileged) {
    v1::ContainerConfig config = container_config(name, kIdle);
    auto* sc = config.mutable_linux()->mutable_security_context();
    sc->set_privileged(privileged);
    sc->mutable_seccomp()->set_profile_type(v1::SecurityProfile::RuntimeDefault);
    for (const auto& path : kMaskedPaths) sc->add_masked_paths(path);
    for (const auto& path : kReadonlyPaths) sc->add_readonly_paths(path);
    return run(pod, config);
  };
  std::string privileged = make("privileged", true);
  std::string confined = make("confined", false);
  auto shell_of = [&](const std::string& id) {
    return [this, id](const std::string& script) { return output_of(id, script); };
  };

  // Capabilities: every one hanokd holds (all up to cap_last_cap but those root lacks on this
  // node), in each set; the unprivileged container gets runc's default 14.
  std::string daemon_status =
      isolate::read_file("/proc/" + std::to_string(daemon_->pid()) + "/status");
  uint64_t daemon_permitted = capability_mask(daemon_status, "CapPrm");
  int last = std::stoi(isolate::read_file("/proc/sys/kernel/cap_last_cap"));
  uint64_t all = last >= 63 ? ~uint64_t{0} : (uint64_t{1} << (last + 1)) - 1;
  std::string inside = output_of(privileged, "cat /proc/self/status");
  for (const char* set : {"CapEff", "CapPrm", "CapBnd"}) {
    EXPECT_EQ(capability_mask(inside, set), daemon_permitted & all) << set;
  }
  EXPECT_EQ(
      __builtin_popcountll(capability_mask(output_of(confined, "cat /proc/self/status"), "CapEff")),
      14);
  // No seccomp filter, whatever profile was asked for.
  EXPECT_EQ(status_field(inside, "Seccomp"), "0");
  EXPECT_EQ(status_field(output_of(confined, "cat /proc/self/status"), "Seccomp"), "2");

  // The host's devices, with their numbers; the unprivileged one has only the default ones.
  auto host = host_devices();
  auto seen = devices_inside(shell_of(privileged));
  std::vector<std::string> missing;
  for (const auto& device : host) {
    if (seen.count(device) == 0) missing.push_back(device);
  }
  EXPECT_EQ(joined(missing, "\n"), "") << "host devices missing in the privileged container";
  auto confined_seen = devices_inside(shell_of(confined));
  EXPECT_LT(confined_seen.size(), 10u) << joined({confined_seen.begin(), confined_seen.end()});
  EXPECT_GT(host.size(), confined_seen.size());

  // No masked or read-only paths; sysfs and cgroupfs writable.
  std::string mountinfo = output_of(privileged, "cat /proc/self/mountinfo");
  std::string confined_mountinfo = output_of(confined, "cat /proc/self/mountinfo");
  for (const auto& path : kMaskedPaths) {
    EXPECT_EQ(mount_options(mountinfo, path), "") << path << " is masked";
  }
  for (const auto& path : kReadonlyPaths) {
    EXPECT_EQ(mount_options(mountinfo, path), "") << path << " is made read-only";
  }
  // (The confined one does have them: the kubelet's list was applied there.) /proc/timer_list,
  // a masked file every kernel here has, is the kernel's in the privileged one, /dev/null in the
  // other.
  EXPECT_NE(mount_options(confined_mountinfo, "/proc/timer_list"), "");
  EXPECT_TRUE(read_only(mount_options(confined_mountinfo, "/proc/sys")));
  EXPECT_TRUE(contains(output_of(privileged, "head -n 1 /proc/timer_list"), "Timer List"));
  EXPECT_EQ(output_of(confined, "wc -c < /proc/timer_list"), "0");
  EXPECT_FALSE(read_only(mount_options(mountinfo, "/sys")));
  EXPECT_TRUE(read_only(mount_options(confined_mountinfo, "/sys")));
  // A child cgroup of the container's own, made and removed from inside.
  std::string child =
      cgroup_v2_host() ? "/sys/fs/cgroup/hanok-probe" : "/sys/fs/cgroup/memory/hanok-probe";
  auto made = shell(privileged, "mkdir " + child + " && rmdir " + child);
  EXPECT_EQ(made.exit_code(), 0) << made.stderr();
  auto refused = shell(confined, "mkdir " + child);
  EXPECT_NE(refused.exit_code(), 0);
  EXPECT_TRUE(contains(refused.stderr(), "Read-only file system")) << refused.stderr();
}

}  // namespace
}  // namespace hanok::test
