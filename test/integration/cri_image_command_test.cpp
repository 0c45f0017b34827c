// A container's process built from its image as the kubelet defines it: the CRI command replaces
// the image's ENTRYPOINT (and drops its CMD), CRI args alone replace its CMD, neither runs both;
// the environment is PATH, HOSTNAME, the image's ENV, then the CRI envs, merged by key; the
// image's USER and WORKDIR apply. The image comes from the busybox fixture with a config of the
// test's own (test/tools/make_layout.py), served by a second fake registry.
#include "cri_fixture.hpp"

namespace hanok::test {
namespace {

std::string trimmed(std::string text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  return text;
}

class CriImageCommand : public CriFixture {
 protected:
  static void SetUpTestSuite() {
    CriFixture::SetUpTestSuite();
    if (suite_dir_.empty()) return;
    make_layout(suite_dir_ + "/configured",
                {"--from", fixture_rootfs(), "--entrypoint", "/bin/echo", "entry", "--cmd",
                 "image-cmd", "--env", "PATH=/image/bin:/bin:/usr/bin", "--env", "SHARED=image",
                 "--env", "IMAGE_ONLY=image", "--workdir", "/tmp", "--user", "user"});
    configured_registry_ = std::make_unique<FakeRegistry>(
        std::vector<std::string>{"hanok/configured=" + suite_dir_ + "/configured"},
        suite_dir_ + "/configured-registry.jsonl");
  }
  static void TearDownTestSuite() {
    configured_registry_.reset();
    CriFixture::TearDownTestSuite();
  }

  ::testing::AssertionResult start() {
    auto started = start_daemon("", {configured_registry_->host()});
    if (!started) return started;
    try {
      cri().pull(configured_image());
    } catch (const std::exception& e) {
      return ::testing::AssertionFailure() << "pull " << configured_image() << ": " << e.what();
    }
    return ::testing::AssertionSuccess();
  }

  static std::string configured_image() {
    return configured_registry_->host() + "/hanok/configured:latest";
  }

  // A container of the configured image with the CRI's command and args as given.
  // In a PID namespace of its own, as the kubelet's default (its process is PID 1 there).
  static v1::ContainerConfig configured(const std::string& name,
                                        const std::vector<std::string>& command,
                                        const std::vector<std::string>& args) {
    v1::ContainerConfig config;
    config.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(
        v1::CONTAINER);
    config.mutable_metadata()->set_name(name);
    config.mutable_image()->set_image(configured_image());
    for (const auto& arg : command) config.add_command(arg);
    for (const auto& arg : args) config.add_args(arg);
    config.set_log_path(name + ".log");
    return config;
  }

  // The one line the container wrote before it exited 0.
  std::string line_of(const Pod& pod, const v1::ContainerConfig& config) {
    std::string id = run(pod, config);
    EXPECT_TRUE(cri().wait_for_state(id, v1::CONTAINER_EXITED, 20s));
    EXPECT_EQ(cri().container_status(id).status().exit_code(), 0) << config.metadata().name();
    return joined(log_messages(log_path_of(id)), "|");
  }

  static inline std::unique_ptr<FakeRegistry> configured_registry_;
};

TEST_F(CriImageCommand, CommandAndArgsCombineAsTheKubeletDefines) {
  ASSERT_TRUE(start());
  Pod pod = run_pod("commands");
  // Neither: the image's ENTRYPOINT with its CMD.
  EXPECT_EQ(line_of(pod, configured("neither", {}, {})), "entry image-cmd");
  // Args alone: the image's ENTRYPOINT with them in place of its CMD.
  EXPECT_EQ(line_of(pod, configured("args", {}, {"cri-args", "two"})), "entry cri-args two");
  // Command alone: it replaces the ENTRYPOINT, and the image's CMD is dropped.
  EXPECT_EQ(line_of(pod, configured("command", {"/bin/echo", "cri-command"}, {})), "cri-command");
  // Both: the command with the args.
  EXPECT_EQ(line_of(pod, configured("both", {"/bin/echo", "cri-command"}, {"cri-args"})),
            "cri-command cri-args");
}

TEST_F(CriImageCommand, EnvironmentUserAndWorkingDirectoryFromTheImage) {
  ASSERT_TRUE(start());
  v1::PodSandboxConfig config = pod_config("environment");
  config.set_hostname("image-pod");
  Pod pod = run_pod(config);
  v1::ContainerConfig container = configured("env", {"sleep", "100000"}, {});
  for (const auto& [key, value] :
       std::vector<std::pair<std::string, std::string>>{{"SHARED", "cri"}, {"CRI_ONLY", "cri"}}) {
    auto* env = container.add_envs();
    env->set_key(key);
    env->set_value(value);
  }
  std::string id = run(pod, container);

  // The process's own environment (sleep, run with no shell between), in order: the default PATH
  // replaced in place by the image's, HOSTNAME (the pod's), the image's, the CRI's; SHARED takes
  // the CRI's value where the image had it.
  std::string environ = output_of(id, "tr '\\0' '\\n' < /proc/1/environ");
  EXPECT_EQ(environ,
            "PATH=/image/bin:/bin:/usr/bin\nHOSTNAME=image-pod\nSHARED=cri\nIMAGE_ONLY=image\n"
            "CRI_ONLY=cri");
  // The image's USER ("user": 1000:1000 and its groups in the image's /etc/group).
  std::string status = output_of(id, "cat /proc/1/status");
  EXPECT_EQ(status_field(status, "Uid"), "1000\t1000\t1000\t1000");
  EXPECT_EQ(status_field(status, "Gid"), "1000\t1000\t1000\t1000");
  EXPECT_EQ(trimmed(status_field(status, "Groups")), "1000 2000");
  // The image's WORKDIR.
  EXPECT_EQ(output_of(id, "readlink /proc/1/cwd"), "/tmp");
  // The CRI's user and working dir win over the image's.
  v1::ContainerConfig overridden = configured("overridden", {"sleep", "100000"}, {});
  overridden.set_working_dir("/etc");
  overridden.mutable_linux()->mutable_security_context()->mutable_run_as_user()->set_value(0);
  std::string overridden_id = run(pod, overridden);
  std::string overridden_status = output_of(overridden_id, "cat /proc/1/status");
  EXPECT_EQ(status_field(overridden_status, "Uid"), "0\t0\t0\t0");
  EXPECT_EQ(output_of(overridden_id, "readlink /proc/1/cwd"), "/etc");
}

}  // namespace
}  // namespace hanok::test
