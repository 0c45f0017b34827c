// The image store against registries that misbehave or are slow, clients that give up, and a
// store left in pieces: a fake registry (test/tools/fake_registry.py) serving synthetic layouts
// (test/tools/make_layout.py), the ImageStore directly, and hanokd over its socket.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "../common/require.hpp"
#include "harness.hpp"
#include "images/image_store.hpp"
#include "isolate/files.hpp"
#include "registry_tools.hpp"

namespace hanok::test {
namespace {

namespace v1 = runtime::v1;
using images::Credentials;
using images::ImageStore;
using images::PullOptions;
using images::RegistryClient;
using images::StopToken;
using Clock = std::chrono::steady_clock;

class ImageSafety : public ::testing::Test {
 protected:
  void SetUp() override {
    HANOK_REQUIRE(::geteuid() == 0, "needs root");
    char dir_template[] = "/var/tmp/hanok-image-safety-XXXXXX";
    dir_ = ::mkdtemp(dir_template);
  }
  void TearDown() override {
    store_.reset();
    client_.reset();
    if (!dir_.empty()) isolate::remove_tree(dir_);
  }

  // A layout of `args` under dir_/name.
  std::string layout(const std::string& name, const std::vector<std::string>& args) {
    std::string dir = dir_ + "/" + name;
    make_layout(dir, args);
    return dir;
  }
  // A layout with one layer of `bytes` random (incompressible) bytes: slow to send at a rate.
  std::string big_layout(const std::string& name, size_t bytes) {
    std::string tree = dir_ + "/" + name + "-tree";
    isolate::make_dirs(tree, 0755);
    std::string data(bytes, '\0');
    std::mt19937 random(42);
    for (auto& c : data) c = static_cast<char>(random());
    isolate::write_file_atomic(tree + "/data", data, 0644);
    return layout(name, {"--from", tree});
  }
  ImageStore& store(RegistryClient& client, images::ImageStoreOptions options = {}) {
    store_ = std::make_unique<ImageStore>(dir_ + "/root", client, std::move(options));
    return *store_;
  }
  std::string record(const std::string& name) const { return dir_ + "/" + name + ".jsonl"; }

  std::string dir_;
  std::unique_ptr<RegistryClient> client_;
  std::unique_ptr<ImageStore> store_;
};

// The kubelet's AuthConfig is for the image's registry: a mirror (here plain HTTP, asking for
// Basic auth) gets the [[auths]] entry for its own host, never the kubelet's password.
TEST_F(ImageSafety, MirrorsNeverGetTheKubeletsCredentials) {
  std::string image = layout("small", {"--layers", "1"});
  FakeRegistry mirror({"team/app=" + image}, record("mirror"), {"--basic", "mirror:m-pass"});
  std::string mirror_host = mirror.host();
  RegistryClient client({{"registry.invalid", {"http://" + mirror_host}, true, ""}},
                        [&](const std::string& host) -> std::optional<Credentials> {
                          if (host != mirror_host) return std::nullopt;
                          return Credentials{"mirror", "m-pass", "", "", "", host};
                        });
  PullOptions options;
  options.credentials = Credentials{"kubelet", "k-secret", "", "", "", "registry.invalid"};
  auto pulled = store(client).pull("registry.invalid/team/app:latest", options);
  EXPECT_EQ(pulled.chain_ids.size(), 1u);
  int authorized = 0;
  for (const auto& request : mirror.requests()) {
    if (!request.contains("headers")) continue;
    std::string authorization = request["headers"].value("Authorization", "");
    EXPECT_EQ(authorization.find("a3ViZWxldDprLXNlY3JldA"), std::string::npos)  // kubelet:k-secret
        << request.dump();
    if (!authorization.empty()) ++authorized;
  }
  EXPECT_GT(authorized, 0);  // the mirror's own credentials were used

  // Without an entry for the mirror, nothing of the kubelet's is tried on it either.
  FakeRegistry bare({"team/app=" + image}, record("bare"), {"--basic", "mirror:m-pass"});
  RegistryClient unconfigured({{"registry.invalid", {"http://" + bare.host()}, true, ""}});
  store_.reset();
  EXPECT_THROW(store(unconfigured).pull("registry.invalid/team/other:latest", options),
               std::exception);
  for (const auto& request : bare.requests()) {
    if (request.contains("headers")) {
      EXPECT_FALSE(request["headers"].contains("Authorization")) << request.dump();
    }
  }
}

// Debian's umoci 0.4.6 writes layers that end right after the last file's data: containerd
// takes them (the digest vouches for every byte), so does hanok.
TEST_F(ImageSafety, ALayerCutAfterItsLastFileIsAccepted) {
  FakeRegistry registry({"umoci/cut=" + layout("cut", {"--cut-trailer"})}, record("cut"));
  RegistryClient client({{registry.host(), {}, true, ""}});
  auto pulled = store(client).pull(registry.host() + "/umoci/cut:latest");
  ASSERT_EQ(pulled.chain_ids.size(), 1u);
  std::string dir = store_->snapshots().layer_dir(pulled.chain_ids[0]);
  EXPECT_EQ(isolate::read_file(dir + "/etc/first"), "first\n");
  EXPECT_EQ(isolate::read_file(dir + "/etc/last").size(), 713u);
}

TEST_F(ImageSafety, MoreLayersThanOverlayStacksAreRefusedBeforeDownloading) {
  FakeRegistry registry({"many/layers=" + layout("many", {"--layers", "501"})}, record("many"));
  RegistryClient client({{registry.host(), {}, true, ""}});
  try {
    store(client).pull(registry.host() + "/many/layers:latest");
    ADD_FAILURE() << "a 501-layer image was pulled";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("has 501 layers; overlayfs stacks at most 500"),
              std::string::npos)
        << e.what();
  }
  int blob_requests = 0;
  for (const auto& request : registry.requests()) {
    if (request.value("path", "").find("/blobs/") != std::string::npos) ++blob_requests;
  }
  EXPECT_EQ(blob_requests, 0);
}

// One pull fetches at most max_parallel_downloads layers at once (not a thread per layer).
TEST_F(ImageSafety, LayerDownloadsOfAPullAreBounded) {
  FakeRegistry registry({"eight/layers=" + layout("eight", {"--layers", "8"})}, record("eight"),
                        {"--rate", "400"});
  RegistryClient client({{registry.host(), {}, true, ""}});
  images::ImageStoreOptions options;
  options.max_parallel_downloads = 3;
  auto pulled = store(client, options).pull(registry.host() + "/eight/layers:latest");
  EXPECT_EQ(pulled.chain_ids.size(), 8u);
  int most = 0;
  for (const auto& request : registry.requests())
    most = std::max(most, request.value("inflight", 0));
  EXPECT_GE(most, 2);  // they did overlap
  EXPECT_LE(most, 3);
}

// A pull stops when its caller gives up; a second pull waiting on the same download gives up
// at its own deadline, not the first one's.
TEST_F(ImageSafety, PullsStopWhenTheirCallersGiveUp) {
  FakeRegistry registry({"slow/image=" + big_layout("slow", 64 * 1024)}, record("slow"),
                        {"--rate", "2000"});
  RegistryClient client({{registry.host(), {}, true, ""}});
  ImageStore& images = store(client);
  std::string ref = registry.host() + "/slow/image:latest";

  std::atomic<bool> cancel{false};
  std::atomic<bool> first_stopped{false};
  std::thread first([&] {
    PullOptions options;
    options.stop = StopToken([&] { return cancel.load(); }, Clock::time_point::max());
    try {
      images.pull(ref, options);
    } catch (const images::Stopped& e) {
      first_stopped = e.reason() == images::StopReason::Cancelled;
    } catch (...) {
    }
  });
  // The second waits on the first one's download of the layer, with a deadline of its own.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  PullOptions waiter;
  waiter.stop = StopToken({}, Clock::now() + std::chrono::seconds(2));
  auto start = Clock::now();
  EXPECT_THROW(images.pull(ref, waiter), images::Stopped);
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(4));

  start = Clock::now();
  cancel = true;
  first.join();
  EXPECT_TRUE(first_stopped);
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(3));
  EXPECT_FALSE(images.find(ref).has_value());
  // Nothing half-written stays in the store.
  EXPECT_TRUE(std::filesystem::is_empty(dir_ + "/root/ingest"));
}

// What a crash leaves (layer directories and index entries the database does not know, a
// layer that lost its files) is cleaned when the store opens; an image missing a layer is no
// longer present (so that a kubelet pulls it again).
TEST_F(ImageSafety, OpeningTheStoreCleansWhatACrashLeft) {
  FakeRegistry registry({"two/images=" + layout("two", {"--layers", "2"})}, record("two"));
  RegistryClient client({{registry.host(), {}, true, ""}});
  auto image = store(client).pull(registry.host() + "/two/images:latest");
  std::string root = dir_ + "/root";
  std::string lost = store_->snapshots().layer_dir(image.chain_ids[1]);
  store_.reset();
  isolate::make_dirs(root + "/snapshots/999/fs/etc", 0755);
  ASSERT_EQ(::symlink("999", (root + "/index/" + std::string(64, 'a')).c_str()), 0);
  ASSERT_EQ(::symlink("998", (root + "/index/" + std::string(64, 'b') + ".prep").c_str()), 0);
  // The top layer's files are gone (its directory, then its index entry dangles).
  isolate::remove_tree(lost.substr(0, lost.rfind('/')));

  ImageStore& reopened = store(client);
  EXPECT_FALSE(isolate::path_exists(root + "/snapshots/999"));
  EXPECT_FALSE(isolate::path_exists(root + "/index/" + std::string(64, 'a')));
  EXPECT_FALSE(isolate::path_exists(root + "/index/" + std::string(64, 'b') + ".prep"));
  EXPECT_TRUE(reopened.snapshots().has_layer(image.chain_ids[0]));
  EXPECT_FALSE(reopened.find(image.id).has_value());
  // A pull brings it back whole.
  auto again = reopened.pull(registry.host() + "/two/images:latest");
  EXPECT_TRUE(reopened.snapshots().has_layer(again.chain_ids[1]));
}

// hanokd over its socket.
class HanokdImages : public ImageSafety {
 protected:
  std::string config_for(const std::string& registry_host, const std::string& extra = "") {
    return "[[registries]]\nprefix = \"" + registry_host + "\"\ninsecure = true\n" + extra;
  }
  static grpc::Status pull(TestDaemon& daemon, const std::string& image,
                           std::chrono::milliseconds deadline = std::chrono::milliseconds(0)) {
    grpc::ClientContext context;
    if (deadline.count() > 0) {
      context.set_deadline(std::chrono::system_clock::now() + deadline);
    }
    v1::PullImageRequest request;
    request.mutable_image()->set_image(image);
    v1::PullImageResponse response;
    return daemon.images().PullImage(&context, request, &response);
  }
  // When the registry saw the body of a blob end without all of it sent (the client hung up).
  static std::optional<double> hung_up_at(const FakeRegistry& registry) {
    for (const auto& entry : registry.requests()) {
      if (entry.value("event", "") == "body-end" && !entry.value("complete", true)) {
        return entry.value("time", 0.0);
      }
    }
    return std::nullopt;
  }
};

TEST_F(HanokdImages, APullStopsAtItsDeadline) {
  FakeRegistry registry({"slow/image=" + big_layout("slow", 64 * 1024)}, record("slow"),
                        {"--rate", "2000"});
  TestDaemon daemon(dir_ + "/hanokd", config_for(registry.host()));
  ASSERT_TRUE(daemon.started()) << daemon.log();
  grpc::Status status =
      pull(daemon, registry.host() + "/slow/image:latest", std::chrono::seconds(2));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << status.error_message();
  // hanokd drops the download too (not only the client its wait).
  for (int i = 0; i < 40 && !hung_up_at(registry); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(hung_up_at(registry).has_value()) << "hanokd went on downloading";
}

TEST_F(HanokdImages, SigtermStopsRunningPullsAndExitsWithinTenSeconds) {
  FakeRegistry registry({"slow/image=" + big_layout("slow", 64 * 1024)}, record("slow"),
                        {"--rate", "2000"});
  TestDaemon daemon(dir_ + "/hanokd", config_for(registry.host()));
  ASSERT_TRUE(daemon.started()) << daemon.log();
  grpc::Status status;
  auto stub = daemon.new_images_stub();
  std::thread puller([&] {
    grpc::ClientContext context;
    v1::PullImageRequest request;
    request.mutable_image()->set_image(registry.host() + "/slow/image:latest");
    v1::PullImageResponse response;
    status = stub->PullImage(&context, request, &response);
  });
  std::this_thread::sleep_for(std::chrono::seconds(1));
  auto start = Clock::now();
  int exit_status = daemon.stop(10);
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(10));
  EXPECT_EQ(exit_status, 0) << daemon.log();
  puller.join();
  EXPECT_FALSE(status.ok());
}

// One image's config must never break the node's image list.
TEST_F(HanokdImages, AnImageWithAnOddUserDoesNotBreakTheList) {
  FakeRegistry registry(
      {"odd/user=" + layout("odd", {"--layers", "1", "--user", "99999999999999999999"}),
       "named/user=" + layout("named", {"--layers", "1", "--user", "www-data:www-data"}),
       "numbered/user=" + layout("numbered", {"--layers", "1", "--user", "1000:1000"})},
      record("users"));
  TestDaemon daemon(dir_ + "/hanokd", config_for(registry.host()));
  ASSERT_TRUE(daemon.started()) << daemon.log();
  for (const char* name : {"odd/user", "named/user", "numbered/user"}) {
    grpc::Status status = pull(daemon, registry.host() + "/" + name + ":latest");
    ASSERT_TRUE(status.ok()) << name << ": " << status.error_message();
  }
  grpc::ClientContext context;
  v1::ListImagesResponse list;
  grpc::Status status = daemon.images().ListImages(&context, v1::ListImagesRequest(), &list);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(list.images_size(), 3);
  std::map<std::string, v1::Image> by_tag;
  for (const auto& image : list.images()) by_tag[image.repo_tags(0)] = image;
  const v1::Image& odd = by_tag[registry.host() + "/odd/user:latest"];
  EXPECT_FALSE(odd.has_uid());
  EXPECT_EQ(odd.username(), "99999999999999999999");
  EXPECT_EQ(by_tag[registry.host() + "/named/user:latest"].username(), "www-data");
  EXPECT_EQ(by_tag[registry.host() + "/numbered/user:latest"].uid().value(), 1000);
}

TEST_F(HanokdImages, ASecondHanokdOnTheSameRootExitsAtOnce) {
  TestDaemon first(dir_ + "/hanokd", "");
  ASSERT_TRUE(first.started()) << first.log();
  auto start = Clock::now();
  // Same root, another socket and state.
  TestDaemon second(dir_ + "/second", "",
                    {"--root", dir_ + "/hanokd/root", "--socket", dir_ + "/second/other.sock"});
  EXPECT_FALSE(second.started());
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(5));
  EXPECT_NE(second.log().find("another hanokd uses the root"), std::string::npos) << second.log();
  grpc::ClientContext context;
  v1::VersionResponse version;
  EXPECT_TRUE(first.runtime().Version(&context, v1::VersionRequest(), &version).ok());
}

// The sandbox image is pinned; images and writable layers are reported apart; every call is
// logged at debug, failures at error, and never a password.
TEST_F(HanokdImages, PinnedImagesFilesystemsAndLogs) {
  FakeRegistry registry({"pause/image=" + layout("pause", {"--layers", "1"}),
                         "other/image=" + layout("other", {"--layers", "1"})},
                        record("pinned"));
  TestDaemon daemon(dir_ + "/hanokd",
                    config_for(registry.host(),
                               "sandbox_image = \"" + registry.host() + "/pause/image:latest\"\n"),
                    {"--log-level", "debug"});
  ASSERT_TRUE(daemon.started()) << daemon.log();
  ASSERT_TRUE(pull(daemon, registry.host() + "/pause/image:latest").ok());
  ASSERT_TRUE(pull(daemon, registry.host() + "/other/image:latest").ok());
  {
    grpc::ClientContext context;
    v1::ListImagesResponse list;
    ASSERT_TRUE(daemon.images().ListImages(&context, v1::ListImagesRequest(), &list).ok());
    for (const auto& image : list.images()) {
      EXPECT_EQ(image.pinned(), image.repo_tags(0).find("/pause/") != std::string::npos)
          << image.repo_tags(0);
    }
  }
  {
    grpc::ClientContext context;
    v1::ImageFsInfoResponse fs;
    ASSERT_TRUE(daemon.images().ImageFsInfo(&context, v1::ImageFsInfoRequest(), &fs).ok());
    ASSERT_EQ(fs.image_filesystems_size(), 1);
    // The writable layers are on the root's filesystem: no container filesystem of their own
    // (the kubelet would take one for a split image filesystem).
    EXPECT_EQ(fs.container_filesystems_size(), 0);
    EXPECT_GT(fs.image_filesystems(0).used_bytes().value(), 0u);
  }
  grpc::ClientContext context;
  v1::PullImageRequest request;
  request.mutable_image()->set_image(registry.host() + "/missing/image:latest");
  request.mutable_auth()->set_username("someone");
  request.mutable_auth()->set_password("p4ssw0rd-never-logged");
  v1::PullImageResponse response;
  EXPECT_FALSE(daemon.images().PullImage(&context, request, &response).ok());
  daemon.stop();
  std::string log = daemon.log();
  EXPECT_NE(log.find("debug ListImages : ok in"), std::string::npos) << log;
  EXPECT_NE(log.find("info pulled " + registry.host() + "/other/image:latest"), std::string::npos)
      << log;
  EXPECT_NE(log.find("error PullImage " + registry.host() + "/missing/image:latest: NOT_FOUND"),
            std::string::npos)
      << log;
  EXPECT_EQ(log.find("p4ssw0rd"), std::string::npos);
}

}  // namespace
}  // namespace hanok::test
