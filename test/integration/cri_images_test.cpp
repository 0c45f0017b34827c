// hanokd's CRI ImageService over its unix socket, as the kubelet or crictl use it, against real
// registries on 127.0.0.1 (one behind a mirror, one with basic auth).
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "../common/require.hpp"
#include "harness.hpp"
#include "isolate/files.hpp"
#include "runtime_v1.grpc.pb.h"

extern char** environ;

namespace hanok::test {
namespace {

namespace v1 = runtime::v1;

std::string script(const std::string& name) {
  return std::string(HANOK_FIXTURES_SCRIPTS) + "/" + name;
}

class CriImages : public ::testing::Test {
 protected:
  void SetUp() override {
    HANOK_REQUIRE(::geteuid() == 0 && isolate::path_exists("/usr/bin/docker-registry"),
                  "needs root and docker-registry");
    char dir_template[] = "/var/tmp/hanok-cri-XXXXXX";
    dir_ = ::mkdtemp(dir_template);
    ::setenv("HANOK_REGISTRY_HTTP_PORT", "5451", 1);
    ::setenv("HANOK_REGISTRY_HTTPS_PORT", "5452", 1);
    ::setenv("HANOK_REGISTRY_AUTH_PORT", "5453", 1);
    Result start = run_program({script("registry.sh"), "start", dir_ + "/registry"});
    ASSERT_EQ(start.exit_code, 0) << start.out << start.err;
    registry_started_ = true;
    Result push = run_program({script("push-images.sh"), HANOK_FIXTURE_IMAGES, dir_ + "/registry"});
    ASSERT_EQ(push.exit_code, 0) << push.out << push.err;
    isolate::write_file_atomic(dir_ + "/hanok.toml", R"(
[[registries]]
prefix = "registry.k8s.io"
mirrors = ["http://127.0.0.1:5451"]
insecure = true

[[registries]]
prefix = "127.0.0.1:5453"
insecure = true

[[auths]]
registry = "127.0.0.1:5453"
username = "hanok"
password = "hanok-pass"
)");
    socket_ = dir_ + "/hanok.sock";
    start_daemon();
  }

  void start_daemon() {
    std::vector<std::string> args = {std::string(HANOK_BINARY) + "d",
                                     "--config",
                                     dir_ + "/hanok.toml",
                                     "--socket",
                                     socket_,
                                     "--root",
                                     dir_ + "/root",
                                     "--state",
                                     dir_ + "/state"};
    std::vector<char*> argv;
    for (auto& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    ASSERT_EQ(posix_spawn(&daemon_, argv[0], nullptr, nullptr, argv.data(), environ), 0);
    for (int i = 0; i < 200 && !isolate::path_exists(socket_); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    ASSERT_TRUE(isolate::path_exists(socket_)) << "hanokd did not create its socket";
    auto channel = grpc::CreateChannel("unix://" + socket_, grpc::InsecureChannelCredentials());
    images_ = v1::ImageService::NewStub(channel);
    runtime_ = v1::RuntimeService::NewStub(channel);
  }

  void TearDown() override {
    if (daemon_ > 0) {
      ::kill(daemon_, SIGTERM);
      int status = 0;
      ::waitpid(daemon_, &status, 0);
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "hanokd exit status " << status;
      EXPECT_FALSE(isolate::path_exists(socket_));
    }
    if (registry_started_) run_program({script("registry.sh"), "stop", dir_ + "/registry"});
    if (!dir_.empty()) isolate::remove_tree(dir_);
  }

  grpc::Status pull(const std::string& image, v1::PullImageResponse& response,
                    const v1::AuthConfig* auth = nullptr) {
    grpc::ClientContext context;
    v1::PullImageRequest request;
    request.mutable_image()->set_image(image);
    if (auth != nullptr) *request.mutable_auth() = *auth;
    return images_->PullImage(&context, request, &response);
  }
  std::optional<v1::Image> status(const std::string& image, bool verbose,
                                  std::map<std::string, std::string>* info = nullptr) {
    grpc::ClientContext context;
    v1::ImageStatusRequest request;
    request.mutable_image()->set_image(image);
    request.set_verbose(verbose);
    v1::ImageStatusResponse response;
    EXPECT_TRUE(images_->ImageStatus(&context, request, &response).ok());
    if (info != nullptr) info->insert(response.info().begin(), response.info().end());
    if (!response.has_image()) return std::nullopt;
    return response.image();
  }

  std::string dir_;
  std::string socket_;
  pid_t daemon_ = 0;
  bool registry_started_ = false;
  std::unique_ptr<v1::ImageService::Stub> images_;
  std::unique_ptr<v1::RuntimeService::Stub> runtime_;
};

TEST_F(CriImages, PullListStatusRemoveAndFsInfoOverTheSocket) {
  struct stat st {};
  ASSERT_EQ(::stat(socket_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u) << "the CRI socket must be root's alone";

  {
    grpc::ClientContext context;
    v1::VersionResponse version;
    ASSERT_TRUE(runtime_->Version(&context, v1::VersionRequest(), &version).ok());
    EXPECT_EQ(version.runtime_name(), "hanok");
    EXPECT_EQ(version.runtime_api_version(), "v1");
  }

  // Through the configured mirror of registry.k8s.io.
  v1::PullImageResponse pulled;
  grpc::Status s = pull("registry.k8s.io/hanok/busybox:latest", pulled);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(pulled.image_ref().rfind("sha256:", 0), 0u);

  std::map<std::string, std::string> info;
  auto image = status("registry.k8s.io/hanok/busybox", true, &info);
  ASSERT_TRUE(image.has_value());
  EXPECT_EQ(image->id(), pulled.image_ref());
  ASSERT_EQ(image->repo_tags_size(), 1);
  EXPECT_EQ(image->repo_tags(0), "registry.k8s.io/hanok/busybox:latest");
  EXPECT_EQ(image->repo_digests(0).rfind("registry.k8s.io/hanok/busybox@sha256:", 0), 0u);
  EXPECT_GT(image->size(), 500000u);
  EXPECT_NE(info["info"].find("\"imageSpec\""), std::string::npos) << info["info"];
  EXPECT_FALSE(status("registry.k8s.io/hanok/not-pulled:latest", false).has_value());

  v1::PullImageResponse user;
  ASSERT_TRUE(pull("registry.k8s.io/hanok/busybox-user:latest", user).ok());
  auto user_image = status(user.image_ref(), false);
  ASSERT_TRUE(user_image.has_value());
  EXPECT_EQ(user_image->uid().value(), 1000);

  // Credentials: a wrong AuthConfig is refused clearly; none falls back to [[auths]].
  v1::AuthConfig wrong;
  wrong.set_username("hanok");
  wrong.set_password("wrong");
  v1::PullImageResponse refused;
  s = pull("127.0.0.1:5453/hanok/busybox:latest", refused, &wrong);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
  EXPECT_NE(s.error_message().find("unauthorized"), std::string::npos) << s.error_message();
  v1::PullImageResponse authed;
  s = pull("127.0.0.1:5453/hanok/busybox:latest", authed);
  EXPECT_TRUE(s.ok()) << s.error_message();

  v1::PullImageResponse bad;
  s = pull("Not A Reference", bad);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("image.image"), std::string::npos) << s.error_message();
  s = pull("127.0.0.1:5451/hanok/missing:latest", bad);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << s.error_message();

  {
    grpc::ClientContext context;
    v1::ListImagesResponse list;
    ASSERT_TRUE(images_->ListImages(&context, v1::ListImagesRequest(), &list).ok());
    EXPECT_EQ(list.images_size(), 2);  // busybox (two names) and busybox-user
  }
  {
    grpc::ClientContext context;
    v1::ImageFsInfoResponse fs;
    ASSERT_TRUE(images_->ImageFsInfo(&context, v1::ImageFsInfoRequest(), &fs).ok());
    ASSERT_EQ(fs.image_filesystems_size(), 1);
    EXPECT_EQ(fs.image_filesystems(0).fs_id().mountpoint(), dir_ + "/root");
    EXPECT_GT(fs.image_filesystems(0).used_bytes().value(), 500000u);
    EXPECT_GT(fs.image_filesystems(0).inodes_used().value(), 10u);
  }

  for (const std::string& id : {pulled.image_ref(), user.image_ref(), pulled.image_ref()}) {
    grpc::ClientContext context;
    v1::RemoveImageRequest request;
    request.mutable_image()->set_image(id);
    v1::RemoveImageResponse response;
    EXPECT_TRUE(images_->RemoveImage(&context, request, &response).ok());  // idempotent
  }
  EXPECT_FALSE(status(pulled.image_ref(), false).has_value());
  Result blobs = run_program({"/bin/ls", "-A", dir_ + "/root/blobs/sha256"});
  EXPECT_EQ(blobs.out, "");
}

}  // namespace
}  // namespace hanok::test
