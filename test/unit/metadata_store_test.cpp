// The image metadata database: images and names, cascades, snapshots, GC queries, durability.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <string>

#include "images/digest.hpp"
#include "images/metadata_store.hpp"

namespace fs = std::filesystem;
using hanok::images::ImageRecord;
using hanok::images::LayerRecord;
using hanok::images::MetadataStore;
using hanok::images::sha256_of;
using hanok::images::SnapshotRecord;
using hanok::images::SnapshotState;

namespace {

class MetadataStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = "/tmp/hanok-metadata-test-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    db_path_ = dir_ + "/metadata.db";
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  static std::string d(const std::string& seed) { return sha256_of(seed).str(); }

  static ImageRecord image(const std::string& seed, std::vector<std::string> tags = {}) {
    ImageRecord r;
    r.id = d("config-" + seed);
    r.size = 1234;
    r.config_json = "{\"architecture\":\"amd64\",\"seed\":\"" + seed + "\"}";
    r.manifest_digest = d("manifest-" + seed);
    r.created_at = 1700000000;
    r.repo_tags = std::move(tags);
    r.repo_digests = {"docker.io/library/" + seed + "@" + r.manifest_digest};
    // Two layers; the bottom one shared by every image.
    r.layers = {{d("chain-base"), d("diff-base"), d("blob-base")},
                {d("chain-" + seed), d("diff-" + seed), d("blob-" + seed)}};
    r.blobs = {r.manifest_digest, r.id, d("blob-base"), d("blob-" + seed)};
    std::sort(r.blobs.begin(), r.blobs.end());
    return r;
  }

  std::string dir_;
  std::string db_path_;
};

}  // namespace

TEST_F(MetadataStoreTest, PutAndFindByIdPrefixAndNames) {
  auto store = MetadataStore::open(db_path_);
  EXPECT_FALSE(store.find_image(d("config-busybox")).has_value());
  ImageRecord busybox = image("busybox", {"docker.io/library/busybox:latest"});
  store.put_image(busybox);

  auto by_id = store.find_image(busybox.id);
  ASSERT_TRUE(by_id.has_value());
  EXPECT_EQ(by_id->id, busybox.id);
  EXPECT_EQ(by_id->size, busybox.size);
  EXPECT_EQ(by_id->config_json, busybox.config_json);
  EXPECT_EQ(by_id->manifest_digest, busybox.manifest_digest);
  EXPECT_EQ(by_id->created_at, busybox.created_at);
  EXPECT_EQ(by_id->repo_tags, busybox.repo_tags);
  EXPECT_EQ(by_id->repo_digests, busybox.repo_digests);
  EXPECT_EQ(by_id->layers, busybox.layers);
  EXPECT_EQ(by_id->blobs, busybox.blobs);

  std::string hex = busybox.id.substr(7);
  ASSERT_TRUE(store.find_image(hex.substr(0, 12)).has_value());
  EXPECT_EQ(store.find_image(hex.substr(0, 12))->id, busybox.id);
  EXPECT_EQ(store.find_image("sha256:" + hex.substr(0, 20))->id, busybox.id);
  EXPECT_FALSE(store.find_image(hex.substr(0, 11)).has_value());  // too short
  EXPECT_EQ(store.find_image("docker.io/library/busybox:latest")->id, busybox.id);
  EXPECT_EQ(store.find_image(busybox.repo_digests[0])->id, busybox.id);
  EXPECT_FALSE(store.find_image("docker.io/library/nginx:latest").has_value());

  store.put_image(busybox);  // idempotent
  ASSERT_EQ(store.list_images().size(), 1u);
  EXPECT_EQ(store.list_images()[0].blobs, busybox.blobs);
}

TEST_F(MetadataStoreTest, TagMovesBetweenImages) {
  auto store = MetadataStore::open(db_path_);
  ImageRecord v1 = image("v1", {"docker.io/library/app:latest", "docker.io/library/app:1"});
  ImageRecord v2 = image("v2", {"docker.io/library/app:latest"});
  store.put_image(v1);
  store.put_image(v2);
  EXPECT_EQ(store.find_image("docker.io/library/app:latest")->id, v2.id);
  EXPECT_EQ(store.find_image("docker.io/library/app:1")->id, v1.id);
  EXPECT_EQ(store.find_image(v1.id)->repo_tags,
            std::vector<std::string>{"docker.io/library/app:1"});
  EXPECT_EQ(store.list_images().size(), 2u);

  store.untag("docker.io/library/app:1");
  store.untag("docker.io/library/app:nope");  // missing is fine
  EXPECT_FALSE(store.find_image("docker.io/library/app:1").has_value());
  auto dangling = store.find_image(v1.id);
  ASSERT_TRUE(dangling.has_value());
  EXPECT_TRUE(dangling->repo_tags.empty());
  EXPECT_EQ(dangling->repo_digests, v1.repo_digests);
}

TEST_F(MetadataStoreTest, RemoveCascades) {
  auto store = MetadataStore::open(db_path_);
  ImageRecord a = image("a", {"docker.io/library/a:latest"});
  ImageRecord b = image("b", {"docker.io/library/b:latest"});
  store.put_image(a);
  store.put_image(b);
  EXPECT_TRUE(store.remove_image(a.id));
  EXPECT_FALSE(store.remove_image(a.id));
  EXPECT_FALSE(store.find_image(a.id).has_value());
  EXPECT_FALSE(store.find_image("docker.io/library/a:latest").has_value());
  EXPECT_FALSE(store.find_image(a.repo_digests[0]).has_value());
  ASSERT_EQ(store.list_images().size(), 1u);

  // a's own blobs are now unreferenced; the shared base blob still belongs to b.
  std::vector<std::string> all = {a.manifest_digest, a.id, d("blob-a"), d("blob-base"), b.id};
  EXPECT_EQ(store.unreferenced_blobs(all),
            (std::vector<std::string>{a.manifest_digest, a.id, d("blob-a")}));
  // Re-adding a brings no stale rows back with it.
  store.put_image(a);
  EXPECT_TRUE(store.unreferenced_blobs(all).empty());
  EXPECT_EQ(store.find_image(a.id)->layers.size(), 2u);
}

TEST_F(MetadataStoreTest, AmbiguousPrefixThrows) {
  auto store = MetadataStore::open(db_path_);
  ImageRecord one = image("one");
  ImageRecord two = image("two");
  one.id = "sha256:abcdefabcdef" + std::string(51, '0') + "1";
  two.id = "sha256:abcdefabcdef" + std::string(51, '0') + "2";
  store.put_image(one);
  store.put_image(two);
  EXPECT_THROW(store.find_image("abcdefabcdef"), std::runtime_error);
  EXPECT_EQ(store.find_image("abcdefabcdef" + std::string(51, '0') + "2")->id, two.id);
  EXPECT_FALSE(store.find_image("not-hex-not-a-name-at-all").has_value());
  EXPECT_FALSE(store.find_image("sha256:zzzzzzzzzzzzzzzz").has_value());
  EXPECT_FALSE(store.find_image("abcdefabcde%").has_value());  // no LIKE wildcards
}

TEST_F(MetadataStoreTest, SnapshotRecords) {
  auto store = MetadataStore::open(db_path_);
  SnapshotRecord base{d("chain-base"), "", dir_ + "/snapshots/1", 0, SnapshotState::Preparing};
  store.put_snapshot(base);
  auto found = store.find_snapshot(base.chain_id);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(*found, base);
  store.set_snapshot_committed(base.chain_id, 4096);
  found = store.find_snapshot(base.chain_id);
  EXPECT_EQ(found->state, SnapshotState::Committed);
  EXPECT_EQ(found->size, 4096u);
  EXPECT_THROW(store.set_snapshot_committed(d("missing"), 1), std::runtime_error);

  SnapshotRecord top{d("chain-top"), base.chain_id, dir_ + "/snapshots/2", 10,
                     SnapshotState::Committed};
  store.put_snapshot(top);
  EXPECT_EQ(store.list_snapshots().size(), 2u);
  store.remove_snapshot(top.chain_id);
  store.remove_snapshot(top.chain_id);  // missing is fine
  EXPECT_FALSE(store.find_snapshot(top.chain_id).has_value());
  EXPECT_EQ(store.list_snapshots().size(), 1u);
}

TEST_F(MetadataStoreTest, UnreferencedSnapshots) {
  auto store = MetadataStore::open(db_path_);
  ImageRecord a = image("a");  // layers chain-base, chain-a
  store.put_image(a);
  auto put = [&](const std::string& chain, const std::string& parent) {
    store.put_snapshot(
        {chain, parent, dir_ + "/" + chain.substr(7, 8), 1, SnapshotState::Committed});
  };
  put(d("chain-base"), "");
  put(d("chain-a"), d("chain-base"));
  put(d("orphan-1"), "");
  put(d("orphan-2"), d("orphan-1"));
  put(d("container-lower"), "");
  put(d("container"), d("container-lower"));

  // Children before parents; the container's snapshot protects its parent.
  EXPECT_EQ(store.unreferenced_snapshots({d("container")}),
            (std::vector<std::string>{d("orphan-2"), d("orphan-1")}));
  auto all = store.unreferenced_snapshots({});
  EXPECT_EQ(all.size(), 4u);  // everything but chain-base and chain-a
  auto pos = [&](const std::string& s) {
    return std::find(all.begin(), all.end(), s) - all.begin();
  };
  EXPECT_LT(pos(d("container")), pos(d("container-lower")));
  EXPECT_LT(pos(d("orphan-2")), pos(d("orphan-1")));

  store.remove_image(a.id);
  EXPECT_EQ(store.unreferenced_snapshots({}).size(), 6u);
}

TEST_F(MetadataStoreTest, PersistsAcrossReopenAndUsesWal) {
  ImageRecord a = image("a", {"docker.io/library/a:latest"});
  {
    auto store = MetadataStore::open(db_path_);
    store.put_image(a);
    store.put_snapshot({d("chain-a"), d("chain-base"), "/x", 7, SnapshotState::Committed});
  }
  {
    auto store = MetadataStore::open(db_path_);
    auto found = store.find_image("docker.io/library/a:latest");
    ASSERT_TRUE(found.has_value());
    EXPECT_EQ(found->layers, a.layers);
    EXPECT_EQ(found->blobs, a.blobs);
    ASSERT_TRUE(store.find_snapshot(d("chain-a")).has_value());
    EXPECT_EQ(store.find_snapshot(d("chain-a"))->size, 7u);
  }
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open_v2(db_path_.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  std::unique_ptr<sqlite3, decltype(&sqlite3_close_v2)> db(raw, &sqlite3_close_v2);
  auto single = [&](const char* sql) {
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db.get(), sql, -1, &stmt, nullptr), SQLITE_OK);
    std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)> owned(stmt, &sqlite3_finalize);
    EXPECT_EQ(sqlite3_step(stmt), SQLITE_ROW);
    auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    return std::string(text ? text : "");
  };
  EXPECT_EQ(single("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(single("PRAGMA user_version"), "2");
}

// What a pull or a container leases, GC keeps: blobs whatever references them, snapshots with
// their parents.
TEST_F(MetadataStoreTest, LeasedBlobsAndSnapshotsAreNotGarbage) {
  auto store = MetadataStore::open(db_path_);
  store.put_snapshot({d("base"), "", "/1", 1, SnapshotState::Committed, 3});
  store.put_snapshot({d("top"), d("base"), "/2", 1, SnapshotState::Committed, 4});
  store.put_snapshot({d("other"), "", "/3", 1, SnapshotState::Preparing, 0});
  std::vector<std::string> blobs = {d("blob-a"), d("blob-b")};
  EXPECT_EQ(store.unreferenced_blobs(blobs), blobs);
  EXPECT_EQ(store.unreferenced_snapshots({}).size(), 3u);

  store.create_lease("pull/1", true);
  store.add_to_lease("pull/1", "blob", d("blob-a"));
  store.add_to_lease("pull/1", "snapshot", d("top"));
  store.add_to_lease("pull/1", "snapshot", d("top"));  // twice is once
  store.create_lease("container/c1", false);
  store.add_to_lease("container/c1", "snapshot", d("other"));
  EXPECT_EQ(store.unreferenced_blobs(blobs), std::vector<std::string>{d("blob-b")});
  EXPECT_TRUE(store.unreferenced_snapshots({}).empty());  // top keeps base
  EXPECT_EQ(store.list_leases(), (std::vector<std::string>{"container/c1", "pull/1"}));

  // A process that died: its temporary leases go, persistent ones stay.
  EXPECT_EQ(store.delete_temporary_leases(), 1u);
  EXPECT_EQ(store.unreferenced_blobs(blobs), blobs);
  auto garbage = store.unreferenced_snapshots({});
  EXPECT_EQ(garbage, (std::vector<std::string>{d("top"), d("base")}));  // children first
  store.delete_lease("container/c1");
  store.delete_lease("container/c1");  // missing is fine
  EXPECT_EQ(store.unreferenced_snapshots({}).size(), 3u);
  EXPECT_TRUE(store.list_leases().empty());
}

// A database of the first schema opens as the second, its records kept.
TEST_F(MetadataStoreTest, FirstSchemaIsUpgraded) {
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(db_path_.c_str(), &raw), SQLITE_OK);
    const char* v1 =
        "CREATE TABLE images(id TEXT PRIMARY KEY, size INTEGER NOT NULL, config TEXT NOT NULL, "
        "manifest_digest TEXT NOT NULL, created_at INTEGER NOT NULL);"
        "CREATE TABLE image_names(name TEXT PRIMARY KEY, image_id TEXT NOT NULL REFERENCES "
        "images(id) ON DELETE CASCADE, kind TEXT NOT NULL CHECK(kind IN ('tag','digest')));"
        "CREATE TABLE image_layers(image_id TEXT NOT NULL REFERENCES images(id) ON DELETE "
        "CASCADE, position INTEGER NOT NULL, chain_id TEXT NOT NULL, diff_id TEXT NOT NULL, "
        "blob_digest TEXT NOT NULL, PRIMARY KEY(image_id, position));"
        "CREATE TABLE image_blobs(image_id TEXT NOT NULL REFERENCES images(id) ON DELETE "
        "CASCADE, digest TEXT NOT NULL, PRIMARY KEY(image_id, digest));"
        "CREATE TABLE snapshots(chain_id TEXT PRIMARY KEY, parent TEXT NOT NULL, dir TEXT NOT "
        "NULL, size INTEGER NOT NULL, state TEXT NOT NULL);"
        "INSERT INTO snapshots VALUES('sha256:aa', '', '/1', 42, 'committed');"
        "PRAGMA user_version = 1;";
    ASSERT_EQ(sqlite3_exec(raw, v1, nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(raw);
  }
  auto store = MetadataStore::open(db_path_);
  auto snapshot = store.find_snapshot("sha256:aa");
  ASSERT_TRUE(snapshot.has_value());
  EXPECT_EQ(snapshot->size, 42u);
  EXPECT_EQ(snapshot->inodes, 0u);
  store.create_lease("l", false);
  store.add_to_lease("l", "snapshot", "sha256:aa");
  EXPECT_TRUE(store.unreferenced_snapshots({}).empty());
}

TEST_F(MetadataStoreTest, NewerSchemaIsRefused) {
  { auto store = MetadataStore::open(db_path_); }
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(db_path_.c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw, "PRAGMA user_version = 99", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(raw);
  EXPECT_THROW(MetadataStore::open(db_path_), std::runtime_error);
}

TEST_F(MetadataStoreTest, OpenErrorNamesThePath) {
  try {
    MetadataStore::open(dir_ + "/no/such/dir/metadata.db");
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(dir_ + "/no/such/dir"), std::string::npos) << e.what();
  }
}
