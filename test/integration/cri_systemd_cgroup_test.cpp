// hanokd with `cgroup_driver = "systemd"`: a pod whose cgroup_parent is a systemd slice (as the
// kubelet's systemd driver sends it) gets its cgroup at the slice's path, and each container the
// scope systemd would give it, `<slice path>/hanok-<id>.scope`: seen from inside the container
// (/proc/self/cgroup, its own cgroup files) and in every host hierarchy, with the container's
// limits written there. A pod without a parent gets `hanok-<pod>.slice`.
#include <unistd.h>

#include "cri_fixture.hpp"

namespace hanok::test {
namespace {

// The host's hierarchy roots: the unified one on a pure v2 host, else each v1 hierarchy (and the
// hybrid's unified one), as hanok places a container in every one.
std::vector<std::string> hierarchy_roots() {
  if (cgroup_v2_host()) return {"/sys/fs/cgroup"};
  std::vector<std::string> roots;
  for (const auto& name : entries_of("/sys/fs/cgroup")) {
    std::string root = "/sys/fs/cgroup/" + name;
    if (std::filesystem::is_directory(root) && !std::filesystem::is_symlink(root)) {
      roots.push_back(root);
    }
  }
  return roots;
}

std::string memory_root() {
  return cgroup_v2_host() ? "/sys/fs/cgroup" : "/sys/fs/cgroup/memory";
}

class CriSystemdCgroup : public CriFixture {
 protected:
  void SetUp() override {
    CriFixture::SetUp();
    // Slices of this test's own (the top one named after the test process), removed by TearDown.
    top_ = "hanoktest" + std::to_string(::getpid());
    for (const std::string& slice : {"/" + top_ + ".slice", std::string("/hanok.slice")}) {
      bool existed = false;
      for (const auto& root : hierarchy_roots()) existed |= isolate::path_exists(root + slice);
      if (!existed) made_slices_.push_back(slice);
    }
  }
  void TearDown() override {
    CriFixture::TearDown();
    // The parent slices hanokd made for the pods (it removes only the pod's own), deepest first.
    std::vector<std::string> dirs = {"/" + top_ + ".slice/" + top_ + "-burstable.slice"};
    dirs.insert(dirs.end(), made_slices_.begin(), made_slices_.end());
    for (const auto& dir : dirs) {
      for (const auto& root : hierarchy_roots()) ::rmdir((root + dir).c_str());
    }
  }

  std::string top_;
  std::vector<std::string> made_slices_;
};

TEST_F(CriSystemdCgroup, ContainersGetTheScopeSystemdWouldGiveThem) {
  ASSERT_TRUE(start_daemon("cgroup_driver = \"systemd\""));
  v1::RuntimeConfigRequest request;
  v1::RuntimeConfigResponse response;
  auto context = cri().context();
  ASSERT_TRUE(cri().runtime().RuntimeConfig(context.get(), request, &response).ok());
  EXPECT_EQ(response.linux().cgroup_driver(), v1::SYSTEMD);

  // As the kubelet names a burstable pod's slice.
  v1::PodSandboxConfig sliced_config = pod_config("sliced");
  std::string slice = top_ + "-burstable-pod1234.slice";
  sliced_config.mutable_linux()->set_cgroup_parent(slice);
  Pod pod = run_pod(sliced_config);
  std::string pod_path =
      "/" + top_ + ".slice/" + top_ + "-burstable.slice/" + top_ + "-burstable-pod1234.slice";
  for (const auto& root : hierarchy_roots()) {
    EXPECT_TRUE(std::filesystem::is_directory(root + pod_path)) << root + pod_path;
  }

  v1::ContainerConfig config = container_config("limited", kIdle);
  auto* resources = config.mutable_linux()->mutable_resources();
  resources->set_memory_limit_in_bytes(64 * kMiB);
  resources->set_cpu_period(100000);
  resources->set_cpu_quota(50000);
  std::string id = run(pod, config);
  std::string scope = pod_path + "/hanok-" + id + ".scope";
  auto info = nlohmann::json::parse(cri().container_status(id, true).info().at("info"));
  EXPECT_EQ(info.value("cgroupsPath", ""), slice + ":hanok:" + id);
  std::string pid = std::to_string(info.value("pid", 0));

  // The host's view: the container's init is in the scope in every hierarchy, with its limits.
  for (const auto& root : hierarchy_roots()) {
    std::string procs = isolate::read_file_if_exists(root + scope + "/cgroup.procs").value_or("");
    EXPECT_TRUE(contains("\n" + procs, "\n" + pid + "\n")) << root + scope << ": " << procs;
  }
  std::string memory_file = cgroup_v2_host() ? "memory.max" : "memory.limit_in_bytes";
  EXPECT_EQ(isolate::read_file_if_exists(memory_root() + scope + "/" + memory_file).value_or(""),
            std::to_string(64 * kMiB) + "\n");
  if (cgroup_v2_host()) {
    EXPECT_EQ(isolate::read_file_if_exists("/sys/fs/cgroup" + scope + "/cpu.max").value_or(""),
              "50000 100000\n");
  } else {
    EXPECT_EQ(isolate::read_file_if_exists("/sys/fs/cgroup/cpu" + scope + "/cpu.cfs_quota_us")
                  .value_or(""),
              "50000\n");
  }

  // The container's view: its own cgroup's limits, and (v1: no cgroup namespace) its path in
  // every hierarchy.
  std::string inside_memory = cgroup_v2_host() ? "/sys/fs/cgroup/memory.max"
                                               : "/sys/fs/cgroup/memory/memory.limit_in_bytes";
  EXPECT_EQ(output_of(id, "cat " + inside_memory), std::to_string(64 * kMiB));
  if (!cgroup_v2_host()) {
    std::istringstream lines(output_of(id, "cat /proc/self/cgroup"));
    int hierarchies = 0;
    for (std::string line; std::getline(lines, line); ++hierarchies) {
      EXPECT_EQ(line.substr(line.rfind(':') + 1), scope) << line;
    }
    EXPECT_EQ(hierarchies, static_cast<int>(hierarchy_roots().size()));
  } else {
    EXPECT_EQ(output_of(id, "cat /proc/self/cgroup"), "0::/");
  }

  // Removed with the pod: the scope and the pod's slice (the kubelet's parents are its own).
  cri().stop_pod(pod.id);
  cri().remove_pod(pod.id);
  for (const auto& root : hierarchy_roots()) {
    EXPECT_FALSE(isolate::path_exists(root + pod_path)) << root + pod_path;
  }
}

TEST_F(CriSystemdCgroup, APodWithoutAParentGetsASliceOfItsOwn) {
  ASSERT_TRUE(start_daemon("cgroup_driver = \"systemd\""));
  Pod pod = run_pod("unparented");
  std::string id = run(pod, container_config("plain", kIdle));
  std::string scope = "/hanok.slice/hanok-" + pod.id + ".slice/hanok-" + id + ".scope";
  std::string pid = std::to_string(
      nlohmann::json::parse(cri().container_status(id, true).info().at("info")).value("pid", 0));
  for (const auto& root : hierarchy_roots()) {
    std::string procs = isolate::read_file_if_exists(root + scope + "/cgroup.procs").value_or("");
    EXPECT_TRUE(contains("\n" + procs, "\n" + pid + "\n")) << root + scope << ": " << procs;
  }
  cri().stop_pod(pod.id);
  cri().remove_pod(pod.id);
  for (const auto& root : hierarchy_roots()) {
    EXPECT_FALSE(isolate::path_exists(root + "/hanok.slice/hanok-" + pod.id + ".slice"));
  }
}

}  // namespace
}  // namespace hanok::test
