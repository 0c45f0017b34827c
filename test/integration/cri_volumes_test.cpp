// CRI volume mounts as the kubelet sends them, seen from both sides: a recursive bind per volume
// (what is mounted below its host directory is inside too), read-only when asked; propagation
// private, host-to-container (rslave) or bidirectional (rshared) between the host and a second
// mount namespace, the container's; a missing host directory created; a host path that is a
// symlink resolved on the host, as containerd does.
#include <sys/mount.h>

#include "cri_fixture.hpp"

namespace hanok::test {
namespace {

class CriVolumes : public CriFixture {
 protected:
  // A tmpfs of the test's own, shared (the host's / here is private; the kubelet's pod volumes
  // live on a shared mount): volumes below it can propagate. TearDown unmounts it.
  std::string shared_mount() {
    std::string dir = dir_ + "/shared";
    EXPECT_EQ(::mkdir(dir.c_str(), 0755), 0);
    EXPECT_EQ(::mount("tmpfs", dir.c_str(), "tmpfs", 0, "size=4m,mode=0755"), 0);
    EXPECT_EQ(::mount(nullptr, dir.c_str(), nullptr, MS_SHARED, nullptr), 0);
    return dir;
  }

  static v1::Mount& add_volume(v1::ContainerConfig& config, const std::string& host,
                               const std::string& inside, v1::MountPropagation propagation) {
    auto* mount = config.add_mounts();
    mount->set_host_path(host);
    mount->set_container_path(inside);
    mount->set_propagation(propagation);
    return *mount;
  }

  // A tmpfs mounted on the host at `dir`, holding a file "marker" that says "host".
  static void mount_marked_tmpfs(const std::string& dir) {
    ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0) << dir;
    ASSERT_EQ(::mount("tmpfs", dir.c_str(), "tmpfs", 0, "size=1m"), 0) << dir;
    isolate::write_file_atomic(dir + "/marker", "host\n");
  }

  static v1::PodSandboxConfig privileged(v1::PodSandboxConfig config) {
    config.mutable_linux()->mutable_security_context()->set_privileged(true);
    return config;
  }
};

// Three volumes of one shared host mount, one per propagation mode, in a privileged container
// (the kubelet allows bidirectional propagation only there). A mount made on the host below each
// volume after the container started shows up inside for rslave and rshared, not for private; a
// mount made inside below each shows up on the host only for rshared. The host's own mount is
// still there afterwards (nothing the container unmounted reached it).
TEST_F(CriVolumes, PropagationSeenFromTheHostAndFromTheContainer) {
  ASSERT_TRUE(start_daemon());
  std::string shared = shared_mount();
  for (const char* name : {"private", "slave", "both"}) {
    ASSERT_EQ(::mkdir((shared + "/" + name).c_str(), 0755), 0);
  }
  // A mount below each volume's host directory before the container starts.
  for (const char* name : {"private", "slave", "both"}) {
    ASSERT_NO_FATAL_FAILURE(mount_marked_tmpfs(shared + "/" + name + "/before"));
  }
  Pod pod = run_pod(privileged(pod_config("propagation")));
  v1::ContainerConfig config = container_config("volumes", kIdle);
  config.mutable_linux()->mutable_security_context()->set_privileged(true);
  add_volume(config, shared + "/private", "/private", v1::PROPAGATION_PRIVATE);
  add_volume(config, shared + "/slave", "/slave", v1::PROPAGATION_HOST_TO_CONTAINER);
  add_volume(config, shared + "/both", "/both", v1::PROPAGATION_BIDIRECTIONAL);
  std::string id = run(pod, config);

  // Each volume is a bind of its host directory: a file written on the host is seen inside.
  for (const char* name : {"private", "slave", "both"}) {
    isolate::write_file_atomic(shared + "/" + name + "/file", std::string(name) + "\n");
    EXPECT_EQ(output_of(id, std::string("cat /") + name + "/file"), name);
  }

  // Recursive: the mounts made below them before the start are inside.
  for (const char* name : {"private", "slave", "both"}) {
    EXPECT_EQ(output_of(id, std::string("cat /") + name + "/before/marker"), "host") << name;
  }

  // Host to container.
  for (const char* name : {"private", "slave", "both"}) {
    ASSERT_NO_FATAL_FAILURE(mount_marked_tmpfs(shared + "/" + name + "/from-host"));
  }
  EXPECT_NE(shell(id, "test -e /private/from-host/marker").exit_code(), 0)
      << "a host mount reached a private volume";
  EXPECT_EQ(output_of(id, "cat /slave/from-host/marker"), "host");
  EXPECT_EQ(output_of(id, "cat /both/from-host/marker"), "host");

  // Container to host.
  for (const char* name : {"private", "slave", "both"}) {
    std::string dir = std::string("/") + name + "/from-container";
    auto made = shell(id, "mkdir " + dir + " && mount -t tmpfs -o size=1m tmpfs " + dir +
                              " && echo container > " + dir + "/marker");
    ASSERT_EQ(made.exit_code(), 0) << name << ": " << made.stderr();
  }
  EXPECT_FALSE(isolate::path_exists(shared + "/private/from-container/marker"))
      << "a mount made in the container reached the host through a private volume";
  EXPECT_FALSE(isolate::path_exists(shared + "/slave/from-container/marker"))
      << "a mount made in the container reached the host through an rslave volume";
  EXPECT_EQ(isolate::read_file_if_exists(shared + "/both/from-container/marker").value_or(""),
            "container\n");
  auto host_mounts = mounts_below(shared);
  EXPECT_EQ(std::count(host_mounts.begin(), host_mounts.end(), shared + "/both/from-container"), 1)
      << joined(host_mounts, "\n");

  // Stopping and removing the pod leaves the host's mounts as the host made them.
  cri().stop_pod(pod.id);
  cri().remove_pod(pod.id);
  host_mounts = mounts_below(shared);
  for (const char* name : {"private", "slave", "both"}) {
    std::string point = shared + "/" + name + "/from-host";
    EXPECT_EQ(std::count(host_mounts.begin(), host_mounts.end(), point), 1) << point;
  }
  EXPECT_EQ(std::count(host_mounts.begin(), host_mounts.end(), shared), 1);
}

// A read-only volume cannot be written from inside; a host path that does not exist is made as a
// directory (and used); a host path that is a symlink to a directory is resolved on the host: the
// container's bind is of the directory it names (the spec's source says so), the link stays.
TEST_F(CriVolumes, ReadOnlyMissingAndSymlinkedHostPaths) {
  ASSERT_TRUE(start_daemon());
  Pod pod = run_pod("host-paths");

  std::string readonly_dir = dir_ + "/readonly";
  ASSERT_EQ(::mkdir(readonly_dir.c_str(), 0755), 0);
  isolate::write_file_atomic(readonly_dir + "/file", "read me\n");
  std::string missing = dir_ + "/missing/deeper";
  std::string target = dir_ + "/target";
  ASSERT_EQ(::mkdir(target.c_str(), 0755), 0);
  isolate::write_file_atomic(target + "/file", "the target's\n");
  std::string link = dir_ + "/link";
  ASSERT_EQ(::symlink("target", link.c_str()), 0);  // relative, as a node's links often are

  v1::ContainerConfig config = container_config("paths", kIdle);
  add_volume(config, readonly_dir, "/readonly", v1::PROPAGATION_PRIVATE).set_readonly(true);
  add_volume(config, missing, "/made", v1::PROPAGATION_PRIVATE);
  add_volume(config, link, "/linked", v1::PROPAGATION_PRIVATE);
  std::string id = run(pod, config);

  // Read-only: readable, not writable, nothing reaches the host.
  EXPECT_EQ(output_of(id, "cat /readonly/file"), "read me");
  auto write = shell(id, "touch /readonly/new");
  EXPECT_NE(write.exit_code(), 0);
  EXPECT_TRUE(contains(write.stderr(), "Read-only file system")) << write.stderr();
  EXPECT_FALSE(isolate::path_exists(readonly_dir + "/new"));
  // The mount inside is ro (its per-mount options, the 6th field of mountinfo).
  std::string mountinfo = output_of(id, "grep ' /readonly ' /proc/self/mountinfo");
  std::istringstream fields(mountinfo);
  std::string field, options;
  for (int i = 0; i < 6 && fields >> field; ++i) options = field;
  EXPECT_TRUE(options == "ro" || options.rfind("ro,", 0) == 0) << mountinfo;

  // Missing: created on the host as a directory, and the container's writes land there.
  struct stat st {};
  ASSERT_EQ(::lstat(missing.c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(shell(id, "echo made > /made/file").exit_code(), 0);
  EXPECT_EQ(isolate::read_file_if_exists(missing + "/file").value_or(""), "made\n");

  // Symlinked: the directory it names, read and written through the volume; the link is left a
  // link; the runtime spec binds the resolved directory.
  EXPECT_EQ(output_of(id, "cat /linked/file"), "the target's");
  EXPECT_EQ(shell(id, "echo new > /linked/new").exit_code(), 0);
  EXPECT_EQ(isolate::read_file_if_exists(target + "/new").value_or(""), "new\n");
  EXPECT_TRUE(std::filesystem::is_symlink(link));
  auto info = nlohmann::json::parse(cri().container_status(id, true).info().at("info"));
  std::string source;
  for (const auto& mount : info["runtimeSpec"]["mounts"]) {
    if (mount.value("destination", "") == "/linked") source = mount.value("source", "");
  }
  EXPECT_EQ(source, target);
  // ContainerStatus reports the volume as the kubelet asked for it.
  std::vector<std::string> reported;
  auto status = cri().container_status(id);
  for (const auto& mount : status.status().mounts()) {
    reported.push_back(mount.host_path());
  }
  EXPECT_EQ(joined(sorted(reported)), joined(sorted({readonly_dir, missing, link})));
}

}  // namespace
}  // namespace hanok::test
