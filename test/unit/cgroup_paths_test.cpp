// systemd slice naming (expand_slice, systemd_cgroup_path), open_cgroup's path validation and
// the mode names.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <sstream>
#include <stdexcept>
#include <string>

#include "isolate/cgroup.hpp"
#include "isolate/files.hpp"

namespace hanok::isolate::cgroup {
namespace {

// The message of the std::invalid_argument `fn` throws, or "" when it throws none.
template <typename Fn>
std::string invalid_message(Fn fn) {
  try {
    fn();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

TEST(ExpandSlice, RootSlice) {
  EXPECT_EQ(expand_slice("-.slice"), "/");
}

TEST(ExpandSlice, OneLevel) {
  EXPECT_EQ(expand_slice("system.slice"), "/system.slice");
  EXPECT_EQ(expand_slice("kubepods.slice"), "/kubepods.slice");
}

TEST(ExpandSlice, NestedLevels) {
  EXPECT_EQ(expand_slice("a-b.slice"), "/a.slice/a-b.slice");
  EXPECT_EQ(expand_slice("a-b-c.slice"), "/a.slice/a-b.slice/a-b-c.slice");
  EXPECT_EQ(expand_slice("user-1000.slice"), "/user.slice/user-1000.slice");
  EXPECT_EQ(expand_slice("kubepods-burstable-pod1.slice"),
            "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice");
}

TEST(ExpandSlice, UnderscoresAndDotsStayInTheirComponent) {
  EXPECT_EQ(expand_slice("kubepods-besteffort-pod12_34.slice"),
            "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod12_34.slice");
  EXPECT_EQ(expand_slice("a.b-c.slice"), "/a.b.slice/a.b-c.slice");
}

TEST(ExpandSlice, RejectsMissingSuffix) {
  for (const char* name : {"", "system", "system.scope", "system.slicex", ".slice", "slice"}) {
    std::string message = invalid_message([&] { expand_slice(name); });
    EXPECT_NE(message.find("linux.cgroupsPath: invalid slice name"), std::string::npos) << name;
    EXPECT_NE(message.find(".slice"), std::string::npos) << name;
  }
}

TEST(ExpandSlice, RejectsDoubleDash) {
  EXPECT_EQ(invalid_message([] { expand_slice("a--b.slice"); }),
            "linux.cgroupsPath: invalid slice name \"a--b.slice\": must not contain \"--\"");
}

TEST(ExpandSlice, RejectsLeadingOrTrailingDash) {
  for (const char* name : {"-a.slice", "a-.slice", "-a-b.slice", "a-b-.slice", "--.slice"}) {
    std::string message = invalid_message([&] { expand_slice(name); });
    EXPECT_EQ(message, std::string("linux.cgroupsPath: invalid slice name \"") + name +
                           "\": must not begin or end with '-'")
        << name;
  }
}

TEST(ExpandSlice, RejectsSlashes) {
  EXPECT_EQ(invalid_message([] { expand_slice("user.slice/user-1000.slice"); }),
            "linux.cgroupsPath: invalid slice name \"user.slice/user-1000.slice\": must not "
            "contain '/'");
}

TEST(ExpandSlice, RejectsCharactersSystemdDoesNotAllow) {
  for (const char* name : {"a b.slice", "a@b.slice", "a$.slice", "caf\xc3\xa9.slice"}) {
    std::string message = invalid_message([&] { expand_slice(name); });
    EXPECT_NE(message.find("linux.cgroupsPath: slice"), std::string::npos) << name;
    EXPECT_NE(message.find("which systemd unit names cannot hold"), std::string::npos) << name;
  }
}

TEST(ExpandSlice, RejectsOverlongNames) {
  std::string name(250, 'a');
  name += ".slice";
  EXPECT_NE(invalid_message([&] { expand_slice(name); }).find("longer than 255"),
            std::string::npos);
}

TEST(SystemdCgroupPath, ScopeInItsSlice) {
  EXPECT_EQ(systemd_cgroup_path("kubepods-burstable-pod1.slice:cri-hanok:abc"),
            "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice/"
            "cri-hanok-abc.scope");
  EXPECT_EQ(systemd_cgroup_path("system.slice:docker:1234"), "/system.slice/docker-1234.scope");
  EXPECT_EQ(systemd_cgroup_path("user-1000.slice:podman:x"),
            "/user.slice/user-1000.slice/podman-x.scope");
}

TEST(SystemdCgroupPath, EmptySliceIsSystemSlice) {
  EXPECT_EQ(systemd_cgroup_path(":hanok:c1"), "/system.slice/hanok-c1.scope");
}

TEST(SystemdCgroupPath, RootSlice) {
  EXPECT_EQ(systemd_cgroup_path("-.slice:hanok:c1"), "/hanok-c1.scope");
}

TEST(SystemdCgroupPath, EmptyPrefixKeepsTheDashAsRuncDoes) {
  EXPECT_EQ(systemd_cgroup_path("system.slice::c1"), "/system.slice/-c1.scope");
}

// runc: a name ending in ".slice" is the unit itself (no prefix, no ".scope"), placed in the
// expanded parent slice.
TEST(SystemdCgroupPath, NameThatIsASlice) {
  EXPECT_EQ(systemd_cgroup_path("kubepods-burstable.slice:ignored:kubepods-burstable-pod1.slice"),
            "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice");
  EXPECT_EQ(systemd_cgroup_path("kubepods.slice:cri:kubepods-besteffort.slice"),
            "/kubepods.slice/kubepods-besteffort.slice");
  EXPECT_EQ(systemd_cgroup_path(":x:machine.slice"), "/system.slice/machine.slice");
  EXPECT_EQ(systemd_cgroup_path("-.slice:x:machine.slice"), "/machine.slice");
}

TEST(SystemdCgroupPath, RejectsInvalidSliceNames) {
  EXPECT_EQ(invalid_message([] { systemd_cgroup_path("a--b.slice:p:n"); }),
            "linux.cgroupsPath: invalid slice name \"a--b.slice\": must not contain \"--\"");
  EXPECT_NE(invalid_message([] {
              systemd_cgroup_path("system:p:n");
            }).find("invalid slice name \"system\""),
            std::string::npos);
  EXPECT_NE(invalid_message([] {
              systemd_cgroup_path("p:q:a--b.slice");
            }).find("invalid slice name \"p\""),
            std::string::npos);
  EXPECT_NE(invalid_message([] {
              systemd_cgroup_path("system.slice:q:a--b.slice");
            }).find("invalid slice name \"a--b.slice\""),
            std::string::npos);
  EXPECT_NE(invalid_message([] {
              systemd_cgroup_path("system.slice:q:-.slice");
            }).find("the root slice cannot be a child"),
            std::string::npos);
}

TEST(SystemdCgroupPath, RejectsWrongNumberOfParts) {
  for (const char* value :
       {"", "system.slice", "system.slice:hanok", "a.slice:b:c:d", "/kubepods/burstable/pod1"}) {
    std::string message = invalid_message([&] { systemd_cgroup_path(value); });
    EXPECT_EQ(message, std::string("linux.cgroupsPath: expected \"slice:prefix:name\" for the "
                                   "systemd cgroup driver, got \"") +
                           value + "\"")
        << value;
  }
}

TEST(SystemdCgroupPath, RejectsEmptyName) {
  EXPECT_EQ(invalid_message([] { systemd_cgroup_path("system.slice:hanok:"); }),
            "linux.cgroupsPath: \"system.slice:hanok:\": the name after the second ':' is empty");
}

TEST(SystemdCgroupPath, RejectsSlashesInPrefixOrName) {
  EXPECT_NE(invalid_message([] {
              systemd_cgroup_path("system.slice:hanok:../../etc");
            }).find("linux.cgroupsPath: name \"../../etc\" contains '/'"),
            std::string::npos);
  EXPECT_NE(invalid_message([] {
              systemd_cgroup_path("system.slice:a/b:c");
            }).find("linux.cgroupsPath: prefix \"a/b\" contains '/'"),
            std::string::npos);
}

TEST(ModeName, AllModes) {
  EXPECT_STREQ(mode_name(Mode::Unified), "unified");
  EXPECT_STREQ(mode_name(Mode::Hybrid), "hybrid");
  EXPECT_STREQ(mode_name(Mode::Legacy), "legacy");
}

// The file system type of the last mount at `mount_point` in /proc/self/mountinfo; "" if none.
std::string fs_type_at(const std::string& mount_point) {
  std::istringstream lines(read_file("/proc/self/mountinfo"));
  std::string type;
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    std::string id, parent, device, root, point;
    fields >> id >> parent >> device >> root >> point;
    size_t separator = line.find(" - ");
    if (point != mount_point || separator == std::string::npos) continue;
    std::istringstream(line.substr(separator + 3)) >> type;
  }
  return type;
}

// The mode is the host's layout as its mount table shows it: cgroup2 at /sys/fs/cgroup is
// unified; v1 hierarchies there with a cgroup2 at /sys/fs/cgroup/unified, hybrid; else legacy.
TEST(DetectMode, AgreesWithTheMountTable) {
  Mode mounted = fs_type_at("/sys/fs/cgroup") == "cgroup2"           ? Mode::Unified
                 : fs_type_at("/sys/fs/cgroup/unified") == "cgroup2" ? Mode::Hybrid
                                                                     : Mode::Legacy;
  EXPECT_STREQ(mode_name(detect_mode()), mode_name(mounted));
  EXPECT_EQ(detect_mode(), detect_mode());
}

class OpenCgroupPath : public ::testing::Test {
 protected:
  void SetUp() override {
    char name[] = "/tmp/hanok-cgpath-XXXXXX";
    ASSERT_NE(::mkdtemp(name), nullptr);
    root_ = name;
    ASSERT_EQ(::mkdir((root_ + "/memory").c_str(), 0755), 0);
  }
  void TearDown() override { remove_tree(root_); }

  std::string root_;
};

TEST_F(OpenCgroupPath, RejectsRelativePaths) {
  for (const char* path : {"", "a/b", "kubepods/pod1"}) {
    std::string message = invalid_message([&] { open_cgroup(path, Mode::Legacy, root_); });
    EXPECT_EQ(message, std::string("linux.cgroupsPath: \"") + path + "\": must be an absolute path")
        << path;
  }
}

TEST_F(OpenCgroupPath, RejectsDotDot) {
  for (const char* path : {"/..", "/a/../b", "/a/..", "/../etc"}) {
    std::string message = invalid_message([&] { open_cgroup(path, Mode::Legacy, root_); });
    EXPECT_EQ(message, std::string("linux.cgroupsPath: \"") + path + "\": must not contain \"..\"")
        << path;
  }
  for (Mode mode : {Mode::Unified, Mode::Hybrid}) {
    EXPECT_NE(
        invalid_message([&] { open_cgroup("/a/../b", mode, root_); }).find("linux.cgroupsPath"),
        std::string::npos);
  }
}

TEST_F(OpenCgroupPath, CleansThePath) {
  EXPECT_EQ(open_cgroup("/a//b/./c/", Mode::Legacy, root_)->path(), "/a/b/c");
  EXPECT_EQ(open_cgroup("/a..b/..c", Mode::Legacy, root_)->path(), "/a..b/..c");
  EXPECT_EQ(open_cgroup("/", Mode::Legacy, root_)->path(), "/");
  EXPECT_EQ(open_cgroup("//", Mode::Legacy, root_)->path(), "/");
}

TEST_F(OpenCgroupPath, ModeChoosesTheImplementation) {
  EXPECT_EQ(open_cgroup("/x", Mode::Legacy, root_)->mode(), Mode::Legacy);
  EXPECT_EQ(open_cgroup("/x", Mode::Hybrid, root_)->mode(), Mode::Hybrid);
  EXPECT_EQ(open_cgroup("/x", Mode::Unified, root_)->mode(), Mode::Unified);
  EXPECT_EQ(open_cgroup("/x", Mode::Legacy, root_)->clone_into_fd(), -1);
}

// runc's placement of cgroupsPath (libcontainer/cgroups/fs/paths.go, fs2/defaultpath.go).
TEST(LocateCgroup, AbsolutePathsStayAndTheRootIsRefused) {
  Location at = locate_cgroup("/kubepods/pod1//c1", Mode::Legacy, "4:memory:/elsewhere\n");
  EXPECT_EQ(at.path, "/kubepods/pod1/c1");
  EXPECT_TRUE(at.controller_paths.empty());
  for (const char* root : {"/", "//", "/."}) {
    EXPECT_THROW(locate_cgroup(root, Mode::Unified, "0::/\n"), std::invalid_argument) << root;
  }
  EXPECT_THROW(locate_cgroup("a/../..", Mode::Unified, "0::/x/y\n"), std::invalid_argument);
}

TEST(LocateCgroup, RelativeOnV2IsBelowTheParentOfTheCallersCgroup) {
  EXPECT_EQ(locate_cgroup("c1", Mode::Unified, "0::/system.slice/shim.scope\n").path,
            "/system.slice/c1");
  EXPECT_EQ(locate_cgroup("a/b", Mode::Unified, "0::/\n").path, "/a/b");
  EXPECT_EQ(locate_cgroup("c1", Mode::Unified, "0::/top\n").path, "/c1");
}

TEST(LocateCgroup, RelativeOnV1IsBelowTheCallersCgroupInEachHierarchy) {
  std::string self =
      "9:name=systemd:/user.slice\n5:memory:/process_api/x\n2:cpu,cpuacct:/\n1:pids:/p\n0::/u\n";
  Location at = locate_cgroup("c1", Mode::Hybrid, self);
  EXPECT_EQ(at.path, "/process_api/x/c1");
  EXPECT_EQ(at.controller_paths.at("memory"), "/process_api/x/c1");
  EXPECT_EQ(at.controller_paths.at("cpu"), "/c1");
  EXPECT_EQ(at.controller_paths.at("cpuacct"), "/c1");
  EXPECT_EQ(at.controller_paths.at("pids"), "/p/c1");
  EXPECT_EQ(at.controller_paths.at(""), "/u/c1");  // the hybrid host's cgroup2
  EXPECT_EQ(at.controller_paths.at("name=systemd"), "/user.slice/c1");
}

}  // namespace
}  // namespace hanok::isolate::cgroup
