// Snapshots: chain ids, layer directories by chain id, overlay container rootfs mounts.
#include "images/snapshots.hpp"
#include "../common/require.hpp"

#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "isolate/files.hpp"

namespace hanok::images {
namespace {

Digest digest_of(const std::string& text) {
  return sha256_of(text);
}

TEST(SnapshotChainId, FollowsTheOciDefinition) {
  Digest a = digest_of("layer a");
  Digest b = digest_of("layer b");
  Digest c = digest_of("layer c");
  EXPECT_EQ(chain_id({a}), a);
  Digest ab = sha256_of(a.str() + " " + b.str());
  EXPECT_EQ(chain_id({a, b}), ab);
  Digest abc = sha256_of(ab.str() + " " + c.str());
  EXPECT_EQ(chain_id({a, b, c}), abc);
  EXPECT_EQ(chain_ids({a, b, c}), (std::vector<Digest>{a, ab, abc}));
  EXPECT_NE(chain_id({b, a}), ab);
  EXPECT_THROW(chain_id({}), std::invalid_argument);
}

TEST(SnapshotChainId, MatchesAKnownValue) {
  // sha256("") and sha256("a"), chained by hand: sha256 of "<d0> <d1>".
  Digest d0 =
      Digest::parse("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  Digest d1 =
      Digest::parse("sha256:ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb");
  EXPECT_EQ(sha256_of(""), d0);
  EXPECT_EQ(sha256_of("a"), d1);
  EXPECT_EQ(chain_id({d0, d1}),
            sha256_of("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 "
                      "sha256:ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"));
}

void write(const std::string& path, const std::string& content) {
  std::ofstream(path) << content;
}

std::string slurp(const std::string& path) {
  return isolate::read_file(path);
}

bool is_mounted(const std::string& path) {
  std::string mounts = isolate::read_file("/proc/self/mountinfo");
  return mounts.find(" " + path + " ") != std::string::npos;
}

class SnapshotStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/var/tmp/hanok-snapshots-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    base_ = tmpl;
  }
  void TearDown() override {
    std::string containers = base_ + "/containers";
    if (DIR* d = ::opendir(containers.c_str())) {
      while (dirent* e = ::readdir(d))
        ::umount2((containers + "/" + e->d_name + "/rootfs").c_str(), MNT_DETACH);
      ::closedir(d);
    }
    isolate::remove_tree(base_);
  }
  // A committed layer whose files `fill` writes.
  template <typename Fill>
  Digest add_layer(SnapshotStore& store, const std::string& name, Fill fill) {
    Digest chain = digest_of(name);
    std::string dir = store.prepare_layer_dir(chain);
    fill(dir);
    store.commit_layer(chain);
    return chain;
  }
  std::string base_;
};

TEST_F(SnapshotStoreTest, PreparesCommitsAndRemovesLayers) {
  SnapshotStore store(base_);
  Digest chain = digest_of("one");
  EXPECT_FALSE(store.has_layer(chain));
  EXPECT_THROW(store.layer_dir(chain), std::runtime_error);
  EXPECT_THROW(store.commit_layer(chain), std::runtime_error);

  std::string stale = store.prepare_layer_dir(chain);
  write(stale + "/half", "an interrupted unpack");
  std::string dir = store.prepare_layer_dir(chain);  // starts again from an empty dir
  EXPECT_FALSE(isolate::path_exists(stale + "/half"));
  EXPECT_FALSE(store.has_layer(chain));  // preparing is not committed
  write(dir + "/file", "content");
  store.commit_layer(chain);
  EXPECT_TRUE(store.has_layer(chain));
  EXPECT_EQ(store.layer_dir(chain), dir);
  EXPECT_EQ(slurp(store.layer_dir(chain) + "/file"), "content");
  EXPECT_THROW(store.prepare_layer_dir(chain), std::runtime_error);

  SnapshotStore reopened(base_);
  EXPECT_TRUE(reopened.has_layer(chain));
  EXPECT_EQ(reopened.layer_dir(chain), dir);

  Digest other = digest_of("two");
  std::string other_dir = store.prepare_layer_dir(other);
  EXPECT_NE(other_dir, dir);
  store.remove_layer(other);  // a preparing layer can be removed too
  EXPECT_FALSE(isolate::path_exists(other_dir));

  store.remove_layer(chain);
  EXPECT_FALSE(store.has_layer(chain));
  EXPECT_FALSE(isolate::path_exists(dir));
  store.remove_layer(chain);  // missing is fine
}

// Garbage collection decides under its lock and deletes outside it: detach_layer takes the layer
// out of the index and moves its tree to the trash at once (a create or pull then waits for no
// deletion); purge deletes it later; a start empties what a crash left in the trash.
TEST_F(SnapshotStoreTest, DetachedLayersGoToTheTrashUntilPurged) {
  SnapshotStore store(base_);
  Digest chain = add_layer(store, "big", [](const std::string& dir) {
    isolate::make_dirs(dir + "/tree/deep", 0755);
    write(dir + "/tree/deep/file", "content");
  });
  std::string dir = store.layer_dir(chain);
  std::vector<std::string> trash = store.detach_layer(chain);
  ASSERT_EQ(trash.size(), 1u);
  EXPECT_EQ(trash[0].rfind(base_ + "/trash/", 0), 0u) << trash[0];
  EXPECT_FALSE(store.has_layer(chain));
  EXPECT_FALSE(isolate::path_exists(dir));
  EXPECT_EQ(slurp(trash[0] + "/fs/tree/deep/file"), "content");
  SnapshotStore::purge(trash);
  EXPECT_FALSE(isolate::path_exists(trash[0]));

  // A crash between the two: the next start purges.
  Digest again = add_layer(store, "again", [](const std::string& dir) { write(dir + "/f", "x"); });
  std::vector<std::string> left = store.detach_layer(again);
  ASSERT_EQ(left.size(), 1u);
  EXPECT_TRUE(isolate::path_exists(left[0]));
  SnapshotStore reopened(base_);
  EXPECT_FALSE(isolate::path_exists(left[0]));
  EXPECT_TRUE(isolate::list_dir(base_ + "/trash").empty());
}

TEST_F(SnapshotStoreTest, MountsTwoLayersWithAWhiteout) {
  HANOK_REQUIRE(::geteuid() == 0, "overlay mounts need root");
  SnapshotStore store(base_);
  Digest lower = add_layer(store, "lower", [](const std::string& dir) {
    isolate::make_dirs(dir + "/etc");
    write(dir + "/etc/passwd", "root:x:0:0\n");
    write(dir + "/etc/shadow", "secret\n");
    write(dir + "/etc/motd", "old motd\n");
  });
  Digest upper = add_layer(store, "upper", [](const std::string& dir) {
    isolate::make_dirs(dir + "/etc");
    ASSERT_EQ(::mknod((dir + "/etc/shadow").c_str(), S_IFCHR | 0, ::makedev(0, 0)), 0);
    write(dir + "/etc/motd", "new motd\n");
    write(dir + "/added", "added\n");
  });
  RootfsMount mount = store.prepare_container_rootfs("c1", {lower, upper});
  EXPECT_EQ(mount.rootfs, base_ + "/containers/c1/rootfs");
  ASSERT_EQ(mount.lowers.size(), 2u);
  EXPECT_EQ(mount.lowers[0], store.layer_dir(upper));  // top first
  EXPECT_TRUE(is_mounted(mount.rootfs));
  EXPECT_EQ(slurp(mount.rootfs + "/etc/passwd"), "root:x:0:0\n");
  EXPECT_FALSE(isolate::path_exists(mount.rootfs + "/etc/shadow"));
  EXPECT_EQ(slurp(mount.rootfs + "/etc/motd"), "new motd\n");
  EXPECT_EQ(slurp(mount.rootfs + "/added"), "added\n");

  write(mount.rootfs + "/etc/passwd", "changed\n");  // copied up, the layer stays as it was
  EXPECT_EQ(slurp(mount.upper + "/etc/passwd"), "changed\n");
  EXPECT_EQ(slurp(store.layer_dir(lower) + "/etc/passwd"), "root:x:0:0\n");

  EXPECT_THROW(store.prepare_container_rootfs("c1", {lower}), std::exception);  // exists
  store.remove_container_rootfs("c1");
  EXPECT_FALSE(is_mounted(mount.rootfs));
  EXPECT_FALSE(isolate::path_exists(base_ + "/containers/c1"));
  EXPECT_TRUE(store.has_layer(lower));
  store.remove_container_rootfs("c1");  // missing is fine
}

TEST_F(SnapshotStoreTest, MountsThirtyLayersUnderALongRoot) {
  HANOK_REQUIRE(::geteuid() == 0, "overlay mounts need root");
  // A root path of ~200 characters: 30 absolute lowerdirs would not fit in one page.
  std::string root = base_ + "/" + std::string(100, 'r') + "/" + std::string(90, 's');
  SnapshotStore store(root);
  std::vector<Digest> chains;
  for (int i = 0; i < 30; ++i) {
    chains.push_back(add_layer(store, "layer " + std::to_string(i), [i](const std::string& dir) {
      write(dir + "/layer-" + std::to_string(i), std::to_string(i));
      write(dir + "/top", std::to_string(i));
    }));
  }
  size_t absolute = 0;
  for (const auto& c : chains) absolute += store.layer_dir(c).size() + 1;
  ASSERT_GT(absolute, 4096u);
  RootfsMount mount = store.prepare_container_rootfs("many", chains);
  EXPECT_EQ(mount.lowers.size(), 30u);
  for (int i = 0; i < 30; ++i) {
    EXPECT_EQ(slurp(mount.rootfs + "/layer-" + std::to_string(i)), std::to_string(i));
  }
  EXPECT_EQ(slurp(mount.rootfs + "/top"), "29");
  char cwd[4096];
  ASSERT_NE(::getcwd(cwd, sizeof cwd), nullptr);
  EXPECT_EQ(std::string(cwd).find(root), std::string::npos);  // our cwd never changed
  store.remove_container_rootfs("many");
  EXPECT_FALSE(is_mounted(mount.rootfs));
  EXPECT_FALSE(isolate::path_exists(root + "/containers/many"));
}

TEST_F(SnapshotStoreTest, RefusesUnknownLayersAndBadIds) {
  SnapshotStore store(base_);
  EXPECT_THROW(store.prepare_container_rootfs("c", {digest_of("missing")}), std::runtime_error);
  EXPECT_FALSE(isolate::path_exists(base_ + "/containers/c"));
  EXPECT_THROW(store.prepare_container_rootfs("../x", {}), std::invalid_argument);
  EXPECT_THROW(store.remove_container_rootfs("a/b"), std::invalid_argument);
}

}  // namespace
}  // namespace hanok::images
