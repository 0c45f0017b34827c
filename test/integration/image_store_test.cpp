// Pulls from real registries (Debian's docker-registry on 127.0.0.1, started by the fixture
// scripts) into a private image root: HTTP, HTTPS with a private CA, basic auth, by tag and by
// digest, an index, whiteouts, shared layers, space accounting, removal and crash repair.
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "../common/require.hpp"
#include "harness.hpp"
#include "images/image_store.hpp"
#include "isolate/files.hpp"

namespace hanok::test {
namespace {

using images::Credentials;
using images::ImageStore;
using images::RegistryClient;
using images::RegistryHost;

const char* kHttp = "127.0.0.1:5151";
const char* kHttps = "127.0.0.1:5152";
const char* kAuth = "127.0.0.1:5153";

std::string registry_state;

std::string script(const std::string& name) {
  return std::string(HANOK_FIXTURES_SCRIPTS) + "/" + name;
}

class ImageStoreTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (::geteuid() != 0 || !isolate::path_exists("/usr/bin/docker-registry")) return;
    char state_template[] = "/var/tmp/hanok-registry-XXXXXX";
    registry_state = ::mkdtemp(state_template);
    ::setenv("HANOK_REGISTRY_HTTP_PORT", "5151", 1);
    ::setenv("HANOK_REGISTRY_HTTPS_PORT", "5152", 1);
    ::setenv("HANOK_REGISTRY_AUTH_PORT", "5153", 1);
    Result start = run_program({script("registry.sh"), "start", registry_state});
    ASSERT_EQ(start.exit_code, 0) << start.out << start.err;
    Result push = run_program({script("push-images.sh"), HANOK_FIXTURE_IMAGES, registry_state});
    ASSERT_EQ(push.exit_code, 0) << push.out << push.err;
  }
  static void TearDownTestSuite() {
    if (registry_state.empty()) return;
    run_program({script("registry.sh"), "stop", registry_state});
    isolate::remove_tree(registry_state);
    registry_state.clear();
  }

  void SetUp() override {
    HANOK_REQUIRE(!registry_state.empty(), "needs root and docker-registry");
    char root_template[] = "/var/tmp/hanok-images-XXXXXX";
    root_ = ::mkdtemp(root_template);
  }
  void TearDown() override {
    for (const auto& id : mounted_) store().snapshots().remove_container_rootfs(id);
    store_.reset();
    client_.reset();
    if (!root_.empty()) isolate::remove_tree(root_);
  }

  RegistryClient& client() {
    if (!client_) {
      std::vector<RegistryHost> hosts = {{kHttp, {}, true, ""},
                                         {kAuth, {}, true, ""},
                                         {kHttps, {}, false, registry_state + "/certs/ca.pem"}};
      client_ = std::make_unique<RegistryClient>(hosts);
    }
    return *client_;
  }
  ImageStore& store(images::ImageStoreOptions options = {}) {
    if (!store_) store_ = std::make_unique<ImageStore>(root_, client(), std::move(options));
    return *store_;
  }
  // Mounts the image's rootfs and returns its path.
  std::string rootfs_of(const images::ImageInfo& image, const std::string& id) {
    mounted_.push_back(id);
    return store().snapshots().prepare_container_rootfs(id, image.chain_ids).rootfs;
  }
  static std::string manifest_digest(const std::string& image) {
    auto index = nlohmann::json::parse(
        isolate::read_file(std::string(HANOK_FIXTURE_IMAGES) + "/" + image + "/index.json"));
    return index["manifests"][0]["digest"];
  }
  // What the store records: the blobs' sizes and the regular files' sizes of the unpacked
  // layers (each inode once), counted here by walking them.
  uint64_t recorded_bytes() {
    uint64_t total = 0;
    std::set<std::pair<dev_t, ino_t>> seen;
    for (const char* dir : {"/blobs", "/snapshots"}) {
      for (const auto& entry : std::filesystem::recursive_directory_iterator(root_ + dir)) {
        struct stat st {};
        if (::lstat(entry.path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
        if (seen.insert({st.st_dev, st.st_ino}).second) total += static_cast<uint64_t>(st.st_size);
      }
    }
    return total;
  }

  std::string root_;
  std::unique_ptr<RegistryClient> client_;
  std::unique_ptr<ImageStore> store_;
  std::vector<std::string> mounted_;
};

TEST_F(ImageStoreTest, PullByTagOverHttpAndRunnableRootfs) {
  auto image = store().pull(std::string(kHttp) + "/hanok/busybox-entrypoint:latest");
  ASSERT_EQ(image.repo_tags.size(), 1u);
  EXPECT_EQ(image.repo_tags[0], std::string(kHttp) + "/hanok/busybox-entrypoint:latest");
  EXPECT_EQ(image.repo_digests[0], std::string(kHttp) + "/hanok/busybox-entrypoint@" +
                                       manifest_digest("busybox-entrypoint"));
  auto config = nlohmann::json::parse(image.config_json);
  EXPECT_EQ(config["config"]["WorkingDir"], "/tmp");
  EXPECT_EQ(config["config"]["Entrypoint"][0], "/bin/sh");
  std::string rootfs = rootfs_of(image, "c1");
  EXPECT_TRUE(isolate::path_exists(rootfs + "/bin/busybox"));
  EXPECT_EQ(isolate::read_file(rootfs + "/etc/fixture-data/hello.txt"), "hello from the fixture\n");
  EXPECT_TRUE(store().find("sha256:" + image.id.substr(7, 12)).has_value());
  EXPECT_TRUE(store().find(std::string(kHttp) + "/hanok/busybox-entrypoint").has_value());
}

TEST_F(ImageStoreTest, PullByDigestAndFromAnIndex) {
  std::string digest = manifest_digest("busybox");
  auto by_digest = store().pull(std::string(kHttp) + "/hanok/busybox@" + digest);
  EXPECT_TRUE(by_digest.repo_tags.empty());
  EXPECT_EQ(by_digest.repo_digests[0], std::string(kHttp) + "/hanok/busybox@" + digest);
  // The index's linux/amd64 entry is the busybox manifest: the same image.
  auto from_index = store().pull(std::string(kHttp) + "/hanok/busybox-index:latest");
  EXPECT_EQ(from_index.id, by_digest.id);
  EXPECT_EQ(store().list().size(), 1u);
}

TEST_F(ImageStoreTest, HttpsWithAPrivateCaAndZstdLayers) {
  auto image = store().pull(std::string(kHttps) + "/hanok/busybox:latest");
  EXPECT_TRUE(isolate::path_exists(rootfs_of(image, "tls") + "/bin/sh"));
  auto zstd = store().pull(std::string(kHttp) + "/hanok/busybox-zstd:latest");
  EXPECT_TRUE(isolate::path_exists(rootfs_of(zstd, "zst") + "/bin/sh"));
}

TEST_F(ImageStoreTest, BasicAuthRightAndWrongPassword) {
  images::PullOptions wrong;
  wrong.credentials = Credentials{"hanok", "not-the-password", "", "", ""};
  try {
    store().pull(std::string(kAuth) + "/hanok/busybox:latest", wrong);
    ADD_FAILURE() << "a wrong password pulled";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("unauthorized"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(store().list().empty());
  images::PullOptions right;
  right.credentials = Credentials{"hanok", "hanok-pass", "", "", ""};
  auto image = store().pull(std::string(kAuth) + "/hanok/busybox:latest", right);
  EXPECT_FALSE(image.id.empty());
}

TEST_F(ImageStoreTest, WhiteoutsAndOpaqueDirsAreHonoured) {
  for (const char* name : {"multilayer", "multilayer-zstd"}) {
    auto image = store().pull(std::string(kHttp) + "/hanok/" + name + ":latest");
    ASSERT_EQ(image.chain_ids.size(), 3u);
    std::string rootfs = rootfs_of(image, name);
    EXPECT_FALSE(isolate::path_exists(rootfs + "/data/a")) << name;
    EXPECT_EQ(isolate::read_file(rootfs + "/data/b"), "b\n");
    EXPECT_FALSE(isolate::path_exists(rootfs + "/data/dir/x")) << name;
    EXPECT_EQ(isolate::read_file(rootfs + "/data/dir/y"), "y\n");
  }
}

TEST_F(ImageStoreTest, SharedLayersAreStoredOnceAndRemovalFreesSpace) {
  auto busybox = store().pull(std::string(kHttp) + "/hanok/busybox:latest");
  auto user = store().pull(std::string(kHttp) + "/hanok/busybox-user:latest");
  auto multi = store().pull(std::string(kHttp) + "/hanok/multilayer:latest");
  EXPECT_NE(busybox.id, user.id);
  EXPECT_EQ(busybox.chain_ids, user.chain_ids);
  EXPECT_EQ(multi.chain_ids[0], busybox.chain_ids[0]);
  // One snapshot of the busybox layer for all three images.
  int layer_dirs = 0;
  for (int n = 1; n < 20; ++n) {
    if (isolate::path_exists(root_ + "/snapshots/" + std::to_string(n))) ++layer_dirs;
  }
  EXPECT_EQ(layer_dirs, 3);  // busybox base + multilayer's two

  auto usage = store().image_usage();
  EXPECT_EQ(usage.used_bytes, recorded_bytes());
  EXPECT_GT(usage.inodes_used, 3u);

  ASSERT_TRUE(store().remove(multi.id));
  auto after = store().image_usage();
  EXPECT_LT(after.used_bytes, usage.used_bytes);
  EXPECT_LT(after.inodes_used, usage.inodes_used);
  EXPECT_EQ(after.used_bytes, recorded_bytes());
  EXPECT_FALSE(store().find(multi.id).has_value());
  // The shared base stays for the other two.
  EXPECT_TRUE(store().snapshots().has_layer(busybox.chain_ids[0]));
  ASSERT_TRUE(store().remove(std::string(kHttp) + "/hanok/busybox:latest"));
  ASSERT_TRUE(store().remove(user.id));
  EXPECT_FALSE(store().snapshots().has_layer(busybox.chain_ids[0]));
  EXPECT_TRUE(store().content().list().empty());
  EXPECT_FALSE(store().remove(user.id));
}

TEST_F(ImageStoreTest, APullKilledHalfWayIsRepairedOnRestart) {
  std::string ref = std::string(kHttp) + "/hanok/big:latest";
  store_.reset();
  client_.reset();
  pid_t child = ::fork();
  if (child == 0) {
    // "localhost": libcurl's connections to 127.0.0.1 inherited from this process are not
    // touched by the child.
    RegistryClient client({{"localhost:5151", {}, true, ""}});
    ImageStore store(root_, client);
    store.pull("localhost:5151/hanok/big:latest");
    ::_exit(0);
  }
  // Kill it as soon as a download is under way (a temp blob in ingest/).
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  bool downloading = false;
  while (!downloading && std::chrono::steady_clock::now() < deadline) {
    downloading = !run_program({"/bin/ls", "-A", root_ + "/ingest"}).out.empty();
    if (!downloading) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ::kill(child, SIGKILL);
  EXPECT_TRUE(downloading);
  int status = 0;
  ::waitpid(child, &status, 0);
  auto image = store().pull(ref);  // opening repaired the store; the pull completes
  EXPECT_EQ(image.chain_ids.size(), 5u);
  std::string rootfs = rootfs_of(image, "big");
  EXPECT_TRUE(isolate::path_exists(rootfs + "/big/layer4/file-24"));
  Result ingest = run_program({"/bin/ls", "-A", root_ + "/ingest"});
  EXPECT_EQ(ingest.out, "");
}

// The registry client alone against the fixture registries: plain HTTP, HTTPS with a private
// CA, an index, and basic auth right and wrong.
TEST_F(ImageStoreTest, RegistryClientAgainstTheFixtureRegistries) {
  images::ContentStore content(root_ + "/content");
  RegistryClient client({RegistryHost{kHttps, {}, false, registry_state + "/certs/ca.pem"},
                         RegistryHost{kHttp, {}, true, ""}, RegistryHost{kAuth, {}, true, ""}});
  for (const std::string& name :
       {std::string(kHttp) + "/hanok/busybox:latest", std::string(kHttps) + "/hanok/busybox:latest",
        std::string(kHttp) + "/hanok/busybox-index:latest"}) {
    SCOPED_TRACE(name);
    images::Reference ref = images::parse_reference(name);
    auto r = client.fetch_manifest(ref, std::nullopt);
    if (images::is_index_media_type(r.media_type)) {
      images::Index index = images::parse_index(r.body, r.media_type);
      r = client.fetch_manifest_by_digest(ref, images::select_platform(index).digest, std::nullopt);
    }
    images::Manifest m = images::parse_manifest(r.body, r.media_type);
    client.fetch_blob(ref, m.config, content, std::nullopt);
    for (const auto& l : m.layers) client.fetch_blob(ref, l, content, std::nullopt);
    for (const auto& l : m.layers) EXPECT_TRUE(content.has(l.digest));
  }
  images::Reference ref = images::parse_reference(std::string(kAuth) + "/hanok/busybox:latest");
  Credentials good{"hanok", "hanok-pass", "", "", "", ""};
  EXPECT_NO_THROW(client.fetch_manifest(ref, good));
  Credentials bad = good;
  bad.password = "nope";
  try {
    client.fetch_manifest(ref, bad);
    ADD_FAILURE() << "a wrong password was accepted";
  } catch (const images::RegistryError& e) {
    EXPECT_EQ(std::string(e.what()), "pull " + std::string(kAuth) +
                                         "/hanok/busybox:latest: unauthorized: wrong username or "
                                         "password");
  }
}

// A pull finds a layer another image already has and goes on with the rest; meanwhile that
// other image is removed. The pull's lease keeps the layer: the image it records is whole.
TEST_F(ImageStoreTest, RemovingAnImageNeverTakesWhatARunningPullUses) {
  std::mutex mutex;
  std::condition_variable changed;
  std::string hold_at;  // the event to hold a pull at
  bool held = false;
  bool released = false;
  images::ImageStoreOptions options;
  options.on_event = [&](const std::string& event) {
    std::unique_lock lock(mutex);
    if (event != hold_at) return;
    held = true;
    changed.notify_all();
    changed.wait(lock, [&] { return released; });
  };
  ImageStore& images = store(options);
  auto busybox = images.pull(std::string(kHttp) + "/hanok/busybox:latest");
  {
    std::lock_guard lock(mutex);
    hold_at = "layer " + busybox.chain_ids[0].str();  // multilayer's base is busybox's layer
  }
  images::ImageInfo multi;
  std::exception_ptr failure;
  std::thread puller([&] {
    try {
      multi = images.pull(std::string(kHttp) + "/hanok/multilayer:latest");
    } catch (...) {
      failure = std::current_exception();
    }
  });
  {
    std::unique_lock lock(mutex);
    ASSERT_TRUE(changed.wait_for(lock, std::chrono::seconds(30), [&] { return held; }));
  }
  ASSERT_TRUE(images.remove(busybox.id));
  EXPECT_TRUE(images.snapshots().has_layer(busybox.chain_ids[0]));  // leased by the pull
  {
    std::lock_guard lock(mutex);
    released = true;
    changed.notify_all();
  }
  puller.join();
  ASSERT_FALSE(failure);
  for (const auto& chain : multi.chain_ids) EXPECT_TRUE(images.snapshots().has_layer(chain));
  std::string rootfs = rootfs_of(multi, "whole");
  EXPECT_TRUE(isolate::path_exists(rootfs + "/bin/busybox"));
  images.snapshots().remove_container_rootfs("whole");
  mounted_.pop_back();
  // Once the pull is done, its lease is gone: removing the image frees everything.
  ASSERT_TRUE(images.remove(multi.id));
  EXPECT_FALSE(images.snapshots().has_layer(busybox.chain_ids[0]));
}

// Pulls and removals of images that share layers, all at once: every image the store lists is
// whole afterwards, and nothing is left once they are all removed.
TEST_F(ImageStoreTest, ConcurrentPullsAndRemovalsOfImagesSharingLayers) {
  const std::vector<std::string> names = {std::string(kHttp) + "/hanok/busybox:latest",
                                          std::string(kHttp) + "/hanok/busybox-user:latest",
                                          std::string(kHttp) + "/hanok/multilayer:latest"};
  ImageStore& images = store();
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 12; ++i) {
        const std::string& name = names[(t + i) % names.size()];
        try {
          if ((t + i) % 3 == 0) {
            images.remove(name);
          } else {
            images.pull(name);
          }
        } catch (const std::exception& e) {
          ++failures;
          ADD_FAILURE() << name << ": " << e.what();
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures, 0);
  for (const auto& image : images.list()) {
    for (const auto& chain : image.chain_ids) {
      EXPECT_TRUE(images.snapshots().has_layer(chain)) << image.id << " " << chain.str();
    }
  }
  for (const auto& image : images.list()) images.remove(image.id);
  EXPECT_TRUE(images.list().empty());
  EXPECT_TRUE(images.content().list().empty());
  EXPECT_TRUE(std::filesystem::is_empty(root_ + "/snapshots"));
}

}  // namespace
}  // namespace hanok::test
