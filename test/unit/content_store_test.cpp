// Digest parsing, SHA-256 vectors, and the content store's write/verify/rename protocol.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "images/content_store.hpp"
#include "images/digest.hpp"

namespace fs = std::filesystem;
using hanok::images::ContentStore;
using hanok::images::Digest;
using hanok::images::DigestError;
using hanok::images::Sha256;
using hanok::images::sha256_of;

namespace {

constexpr const char* kEmpty =
    "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr const char* kAbc =
    "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

class TempDir {
 public:
  TempDir() {
    std::string pattern = "/tmp/hanok-content-test-XXXXXX";
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

size_t count_entries(const std::string& dir) {
  return static_cast<size_t>(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

}  // namespace

TEST(DigestTest, ParsesValidSha256) {
  Digest d = Digest::parse(kAbc);
  EXPECT_EQ(d.str(), kAbc);
  EXPECT_EQ(d.hex(), std::string(kAbc).substr(7));
  EXPECT_EQ(Digest::parse(kAbc), d);
  EXPECT_LT(Digest::parse(kAbc), Digest::parse(kEmpty));
}

TEST(DigestTest, RejectsMalformed) {
  const std::string hex = std::string(kAbc).substr(7);
  for (const std::string& bad : {
           std::string(""),
           hex,                                     // no algorithm
           "sha512:" + hex,                         // unsupported algorithm
           "SHA256:" + hex,                         // algorithm is case-sensitive
           "sha256:" + hex.substr(1),               // 63 chars
           "sha256:" + hex + "0",                   // 65 chars
           "sha256:" + std::string(64, 'A'),        // uppercase
           "sha256:" + std::string(63, 'a') + "g",  // not hex
           std::string("sha256:"),
           " sha256:" + hex,
       }) {
    EXPECT_THROW(Digest::parse(bad), DigestError) << bad;
  }
}

TEST(DigestTest, ErrorNamesTheInput) {
  try {
    Digest::parse("sha256:xyz");
    FAIL() << "no exception";
  } catch (const DigestError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("invalid digest \"sha256:xyz\": ", 0), 0u) << e.what();
  }
}

TEST(Sha256Test, KnownVectors) {
  EXPECT_EQ(sha256_of("").str(), kEmpty);
  EXPECT_EQ(sha256_of("abc").str(), kAbc);
  EXPECT_EQ(sha256_of("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq").str(),
            "sha256:248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256Test, StreamingMatchesOneShot) {
  Sha256 sha;
  sha.update("a", 1);
  sha.update("", 0);
  sha.update("bc", 2);
  EXPECT_EQ(sha.finish().str(), kAbc);
}

TEST(ContentStoreTest, CommitPlacesReadOnlyBlob) {
  TempDir dir;
  ContentStore store(dir.path());
  const std::string data = "hello, blob";
  Digest d = sha256_of(data);
  EXPECT_FALSE(store.has(d));
  EXPECT_FALSE(store.size(d).has_value());

  auto w = store.writer(d, data.size());
  w->write(data.data(), 5);
  w->write(data.data() + 5, data.size() - 5);
  EXPECT_EQ(w->written(), data.size());
  w->commit();

  EXPECT_EQ(store.path(d), dir.path() + "/blobs/sha256/" + std::string(d.hex()));
  EXPECT_TRUE(store.has(d));
  EXPECT_EQ(store.size(d), data.size());
  EXPECT_EQ(store.read(d), data);
  struct stat st {};
  ASSERT_EQ(::stat(store.path(d).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0444u);
  EXPECT_EQ(count_entries(dir.path() + "/ingest"), 0u);
  ASSERT_EQ(store.list().size(), 1u);
  EXPECT_EQ(store.list()[0], d);
}

TEST(ContentStoreTest, DigestMismatchLeavesNothing) {
  TempDir dir;
  ContentStore store(dir.path());
  Digest claimed = sha256_of("abc");
  auto w = store.writer(claimed);
  w->write("abd", 3);
  try {
    w->commit();
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    std::string what = e.what();
    EXPECT_NE(what.find(claimed.str()), std::string::npos) << what;
    EXPECT_NE(what.find(sha256_of("abd").str()), std::string::npos) << what;
  }
  EXPECT_FALSE(store.has(claimed));
  EXPECT_EQ(count_entries(dir.path() + "/ingest"), 0u);
  EXPECT_EQ(count_entries(dir.path() + "/blobs/sha256"), 0u);
}

TEST(ContentStoreTest, SizeMismatchThrows) {
  TempDir dir;
  ContentStore store(dir.path());
  Digest d = sha256_of("abc");
  EXPECT_THROW(store.writer(d, 4)->commit(), std::runtime_error);  // short
  {
    auto w = store.writer(d, 2);
    EXPECT_THROW(w->write("abc", 3), std::runtime_error);  // too long
  }
  EXPECT_FALSE(store.has(d));
  EXPECT_EQ(count_entries(dir.path() + "/ingest"), 0u);
}

TEST(ContentStoreTest, WriterWithoutCommitLeavesNothing) {
  TempDir dir;
  ContentStore store(dir.path());
  Digest d = sha256_of("abc");
  {
    auto w = store.writer(d);
    w->write("abc", 3);
    EXPECT_EQ(count_entries(dir.path() + "/ingest"), 1u);
  }
  EXPECT_FALSE(store.has(d));
  EXPECT_EQ(count_entries(dir.path() + "/ingest"), 0u);
}

TEST(ContentStoreTest, PutReadRemoveAndExistingBlob) {
  TempDir dir;
  ContentStore store(dir.path());
  Digest d = sha256_of("{\"manifest\":1}");
  store.put(d, "{\"manifest\":1}");
  store.put(d, "{\"manifest\":1}");  // already there: fine
  EXPECT_EQ(store.read(d), "{\"manifest\":1}");
  EXPECT_THROW(store.put(sha256_of("x"), "y"), std::runtime_error);
  store.remove(d);
  store.remove(d);  // missing is fine
  EXPECT_FALSE(store.has(d));
  EXPECT_THROW(store.read(d), std::runtime_error);
  EXPECT_TRUE(store.list().empty());
}

TEST(ContentStoreTest, ListSkipsStrayFiles) {
  TempDir dir;
  ContentStore store(dir.path());
  store.put(sha256_of("a"), "a");
  store.put(sha256_of("b"), "b");
  std::ofstream(dir.path() + "/blobs/sha256/not-a-digest") << "x";
  auto all = store.list();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_LT(all[0], all[1]);
}

TEST(ContentStoreTest, CleanIngestRemovesStaleTempFiles) {
  TempDir dir;
  ContentStore store(dir.path());
  std::ofstream(dir.path() + "/ingest/deadbeef-crashed") << "partial";
  Digest d = sha256_of("abc");
  auto live = store.writer(d);  // a live writer's temp file survives
  live->write("ab", 2);
  EXPECT_EQ(count_entries(dir.path() + "/ingest"), 2u);
  store.clean_ingest();
  EXPECT_EQ(count_entries(dir.path() + "/ingest"), 1u);
  EXPECT_FALSE(fs::exists(dir.path() + "/ingest/deadbeef-crashed"));
  live->write("c", 1);
  live->commit();
  EXPECT_TRUE(store.has(d));
  store.clean_ingest();
  EXPECT_EQ(count_entries(dir.path() + "/ingest"), 0u);
}
