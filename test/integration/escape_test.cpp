// Hostile images and configs: what an attacker controls (the image's files, a volume shared with
// another container, a config that omits things) must never reach the host.
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <thread>

#include "harness.hpp"
#include "isolate/files.hpp"

namespace hanok::test {
namespace {

using Escape = ContainerTest;

// The config without the /dev tmpfs and the mounts below it: the container sees the image's /dev.
void use_the_images_dev(nlohmann::json& config) {
  nlohmann::json kept = nlohmann::json::array();
  for (const auto& mount : config["mounts"]) {
    if (mount["destination"].get<std::string>().rfind("/dev", 0) != 0) kept.push_back(mount);
  }
  config["mounts"] = kept;
}

TEST_F(Escape, MaskedPathsBindTheHostsNullDeviceNotTheImages) {
  // The image's /dev/null is a symlink to a file with content (in CVE-2025-31133 it pointed at
  // /proc/sys/kernel/core_pattern, which made a masked path a writable view of the host's).
  use_the_images_dev(config());
  std::string dev = rootfs() + "/dev";
  ::unlink((dev + "/null").c_str());
  ASSERT_EQ(::symlink("/etc/fixture-data/hello.txt", (dev + "/null").c_str()), 0);
  config()["linux"]["maskedPaths"] = {"/etc/passwd"};
  set_shell("wc -c < /etc/passwd; stat -c %t:%T /etc/passwd");
  Result r = run_container();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "0\n1:3\n");

  // A regular file, or a device node of another kind, named /dev/null is never bound either.
  ::unlink((dev + "/null").c_str());
  ASSERT_EQ(::mknod((dev + "/null").c_str(), S_IFCHR | 0666, makedev(1, 5)), 0);  // zero
  set_shell("head -c 4 /etc/passwd | wc -c; stat -c %t:%T /etc/passwd");
  r = run_container("c2");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "0\n1:3\n");
}

TEST_F(Escape, NoCapabilitiesObjectMeansNoCapabilities) {
  config()["process"].erase("capabilities");
  set_shell("grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb)' /proc/self/status");
  Result r = run_container();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* set : {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"}) {
    EXPECT_EQ(status_field(r.out, set), "0000000000000000") << set << " in\n" << r.out;
  }
}

TEST_F(Escape, WithoutDeviceRulesHostDevicesStayDenied) {
  // Devices the host's root can open but runc's default rules do not allow: the loop device
  // control (attach host files as block devices) and fuse.
  for (const char* device : {"/dev/loop-control", "/dev/fuse"}) {
    if (::access(device, R_OK | W_OK) != 0) GTEST_SKIP() << device << " is not usable here";
  }
  // No linux.resources at all, and CAP_MKNOD: the device cgroup still denies what runc denies.
  config()["linux"].erase("resources");
  nlohmann::json caps = {"CAP_MKNOD", "CAP_DAC_OVERRIDE"};
  config()["process"]["capabilities"] = {
      {"bounding", caps}, {"effective", caps}, {"permitted", caps}};
  set_shell(
      "mknod /dev/lc c 10 237 && mknod /dev/fs c 10 229 && echo made; "
      "(exec 3<>/dev/lc) && echo loop-control; (exec 3<>/dev/fs) && echo fuse; "
      "head -c 1 /dev/zero | wc -c");
  Result r = run_container();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("Operation not permitted"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "made\n1\n");  // both refused; the default devices still work
}

// A read-only bind whose destination lies in a volume the attacker (another container sharing
// it) can change: a symlink swapped in after the mount must not carry the read-only attribute
// onto another mount. The bind the container gets is read-only, every time.
TEST_F(Escape, ReadOnlyBindStaysReadOnlyWhileAVolumeSymlinkIsSwapped) {
  std::string volume = bundle() + "/volume";
  std::string source = bundle() + "/readonly-source";
  ASSERT_EQ(::mkdir(volume.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(source.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((volume + "/real").c_str(), 0755), 0);
  // The symlink leads to another mount's root (the container's /dev/shm tmpfs).
  ASSERT_EQ(::symlink("/dev/shm", (volume + "/link").c_str()), 0);
  config()["root"]["readonly"] = false;
  config()["mounts"].push_back({{"destination", "/vol"},
                                {"type", "bind"},
                                {"source", volume},
                                {"options", {"rbind", "rw"}}});
  config()["mounts"].push_back({{"destination", "/vol/target"},
                                {"type", "bind"},
                                {"source", source},
                                {"options", {"bind", "ro"}}});
  // Wherever the bind landed (the volume's directory, under either name, or /dev/shm through
  // the symlink), the source's marker is there and nothing can be written next to it.
  isolate::write_file_atomic(source + "/marker", "ro\n", 0644);
  // (cd first: the names keep changing while the shell looks, the directory it is in does not.)
  set_shell(
      "for d in /vol/target /vol/real /dev/shm; do (cd $d 2>/dev/null && [ -e marker ] && "
      "{ touch probe 2>/dev/null && echo rw $d || echo ro $d; }); done; true");
  std::atomic<bool> stop{false};
  std::thread attacker([&] {
    std::string target = volume + "/target";
    for (bool real = false; !stop; real = !real) {
      // rename(2) swaps atomically between a directory and a symlink out of the mount.
      if (real) {
        ::rename((volume + "/real").c_str(), target.c_str());
        ::rename(target.c_str(), (volume + "/real").c_str());
      } else {
        ::rename((volume + "/link").c_str(), target.c_str());
        ::rename(target.c_str(), (volume + "/link").c_str());
      }
    }
  });
  int read_only = 0;
  std::string failures;
  for (int i = 0; i < 40; ++i) {
    Result r = run_container("swap" + std::to_string(i));
    if (r.exit_code != 0) continue;  // the swap can make a mount target vanish: a clean failure
    if (r.out.find("rw ") != std::string::npos) failures += r.out;
    if (r.out.find("ro ") != std::string::npos) ++read_only;
  }
  stop = true;
  attacker.join();
  EXPECT_TRUE(failures.empty()) << "writable binds of the read-only source:\n" << failures;
  EXPECT_GT(read_only, 0);
}

}  // namespace
}  // namespace hanok::test
