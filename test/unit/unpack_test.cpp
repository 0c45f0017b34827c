// Layer unpacking: tree contents and metadata, the three compressions, diff_id, whiteouts, and
// hostile layers (every one refused or confined, the target left empty after a refusal).
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "../common/require.hpp"
#include "images/digest.hpp"
#include "images/unpack.hpp"
#include "isolate/files.hpp"

namespace hanok::images {
namespace {

struct Entry {
  std::string path;
  mode_t type = AE_IFREG;
  mode_t perm = 0644;
  std::string data;
  std::string symlink;
  std::string hardlink;
  uid_t uid = 0;
  gid_t gid = 0;
  time_t mtime = 1'600'000'000;
  dev_t rdev = 0;
  std::vector<std::pair<std::string, std::string>> xattrs;
};

Entry file(std::string path, std::string data, mode_t perm = 0644) {
  Entry e;
  e.path = std::move(path);
  e.data = std::move(data);
  e.perm = perm;
  return e;
}
Entry dir(std::string path, mode_t perm = 0755) {
  Entry e;
  e.path = std::move(path);
  e.type = AE_IFDIR;
  e.perm = perm;
  return e;
}
Entry symlink(std::string path, std::string target) {
  Entry e;
  e.path = std::move(path);
  e.type = AE_IFLNK;
  e.perm = 0777;
  e.symlink = std::move(target);
  return e;
}
Entry hardlink(std::string path, std::string target) {
  Entry e;
  e.path = std::move(path);
  e.hardlink = std::move(target);
  return e;
}

// Writes `entries` as a pax tar with `filter` (ARCHIVE_FILTER_NONE, _GZIP or _ZSTD).
void write_layer(const std::string& path, const std::vector<Entry>& entries, int filter) {
  archive* a = archive_write_new();
  if (filter == ARCHIVE_FILTER_GZIP) archive_write_add_filter_gzip(a);
  if (filter == ARCHIVE_FILTER_ZSTD) archive_write_add_filter_zstd(a);
  archive_write_set_format_pax_restricted(a);
  archive_write_set_bytes_in_last_block(a, 1);
  ASSERT_EQ(archive_write_open_filename(a, path.c_str()), ARCHIVE_OK) << archive_error_string(a);
  for (const auto& e : entries) {
    archive_entry* entry = archive_entry_new();
    archive_entry_set_pathname(entry, e.path.c_str());
    archive_entry_set_uid(entry, e.uid);
    archive_entry_set_gid(entry, e.gid);
    archive_entry_set_mtime(entry, e.mtime, 0);
    if (!e.hardlink.empty()) {
      archive_entry_set_filetype(entry, AE_IFREG);
      archive_entry_set_perm(entry, e.perm);
      archive_entry_set_hardlink(entry, e.hardlink.c_str());
      archive_entry_set_size(entry, 0);
    } else {
      archive_entry_set_filetype(entry, e.type);
      archive_entry_set_perm(entry, e.perm);
      if (e.type == AE_IFLNK) archive_entry_set_symlink(entry, e.symlink.c_str());
      if (e.type == AE_IFCHR || e.type == AE_IFBLK) archive_entry_set_rdev(entry, e.rdev);
      archive_entry_set_size(entry,
                             e.type == AE_IFREG ? static_cast<la_int64_t>(e.data.size()) : 0);
    }
    for (const auto& [key, value] : e.xattrs) {
      archive_entry_xattr_add_entry(entry, key.c_str(), value.data(), value.size());
    }
    ASSERT_EQ(archive_write_header(a, entry), ARCHIVE_OK) << archive_error_string(a);
    if (e.type == AE_IFREG && e.hardlink.empty() && !e.data.empty()) {
      ASSERT_EQ(archive_write_data(a, e.data.data(), e.data.size()),
                static_cast<la_ssize_t>(e.data.size()));
    }
    archive_entry_free(entry);
  }
  ASSERT_EQ(archive_write_close(a), ARCHIVE_OK);
  archive_write_free(a);
}

std::string slurp(const std::string& path) {
  return isolate::read_file(path);
}

std::vector<std::string> list_dir(const std::string& path) {
  std::vector<std::string> names;
  DIR* d = ::opendir(path.c_str());
  if (d == nullptr) return names;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  ::closedir(d);
  return names;
}

struct stat lstat_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st;
}

class UnpackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/var/tmp/hanok-unpack-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    base_ = tmpl;
    target_ = base_ + "/target";
    outside_ = base_ + "/outside";
    isolate::make_dirs(target_);
    isolate::make_dirs(outside_);
  }
  void TearDown() override { isolate::remove_tree(base_); }

  std::string layer(const std::vector<Entry>& entries, int filter = ARCHIVE_FILTER_NONE,
                    const std::string& name = "layer.tar") {
    std::string path = base_ + "/" + name;
    write_layer(path, entries, filter);
    return path;
  }

  // A refused layer leaves the target empty and nothing outside it.
  void expect_refused(const std::vector<Entry>& entries, const std::string& message) {
    std::string path = layer(entries);
    try {
      unpack_layer(path, Compression::None, target_);
      ADD_FAILURE() << "layer was not refused";
    } catch (const UnpackError& e) {
      EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what();
    }
    EXPECT_TRUE(list_dir(target_).empty());
    EXPECT_TRUE(list_dir(outside_).empty());
    EXPECT_EQ(list_dir(base_).size(), 3u);  // target, outside, layer.tar
  }

  std::string base_, target_, outside_;
};

std::vector<Entry> sample_tree() {
  Entry owned = file("etc/owned", "owned by 1000:2000\n", 0640);
  owned.uid = 1000;
  owned.gid = 2000;
  owned.mtime = 1'500'000'000;
  Entry tagged = file("etc/tagged", "x");
  tagged.xattrs = {{"user.hanok", "1"}};
  Entry bin = dir("bin", 0711);
  bin.mtime = 1'400'000'000;
  return {dir("etc"),
          file("etc/hostname", "hanok\n"),
          owned,
          tagged,
          bin,
          file("bin/tool", std::string(300'000, 'z'), 04755),
          symlink("bin/sh", "/bin/tool"),
          hardlink("bin/tool2", "bin/tool"),
          file("implicit/parent/file", "made without dir entries")};
}

void expect_sample_tree(const std::string& t) {
  EXPECT_EQ(slurp(t + "/etc/hostname"), "hanok\n");
  struct stat owned = lstat_of(t + "/etc/owned");
  EXPECT_EQ(owned.st_mode & 07777, 0640u);
  EXPECT_EQ(owned.st_mtim.tv_sec, 1'500'000'000);
  if (::geteuid() == 0) {
    EXPECT_EQ(owned.st_uid, 1000u);
    EXPECT_EQ(owned.st_gid, 2000u);
  }
  char value[8] = {};
  ASSERT_EQ(::getxattr((t + "/etc/tagged").c_str(), "user.hanok", value, sizeof value), 1);
  EXPECT_EQ(std::string(value), "1");
  struct stat bin = lstat_of(t + "/bin");
  EXPECT_TRUE(S_ISDIR(bin.st_mode));
  EXPECT_EQ(bin.st_mode & 07777, 0711u);
  EXPECT_EQ(bin.st_mtim.tv_sec, 1'400'000'000);  // set after its children were created
  struct stat tool = lstat_of(t + "/bin/tool");
  EXPECT_EQ(tool.st_mode & 07777, 04755u);  // set-uid kept (mode applied after chown)
  EXPECT_EQ(tool.st_size, 300'000);
  EXPECT_EQ(tool.st_nlink, 2u);
  EXPECT_EQ(lstat_of(t + "/bin/tool2").st_ino, tool.st_ino);
  char link[64] = {};
  ASSERT_GT(::readlink((t + "/bin/sh").c_str(), link, sizeof link), 0);
  EXPECT_EQ(std::string(link), "/bin/tool");
  EXPECT_EQ(slurp(t + "/implicit/parent/file"), "made without dir entries");
}

TEST_F(UnpackTest, UnpacksPlainGzipAndZstdToTheSameTreeAndDiffId) {
  auto entries = sample_tree();
  std::string plain = layer(entries, ARCHIVE_FILTER_NONE, "plain.tar");
  Digest expected = sha256_of(slurp(plain));
  struct Case {
    int filter;
    Compression compression;
  };
  for (Case c :
       {Case{ARCHIVE_FILTER_NONE, Compression::None}, Case{ARCHIVE_FILTER_GZIP, Compression::Gzip},
        Case{ARCHIVE_FILTER_ZSTD, Compression::Zstd}}) {
    SCOPED_TRACE(c.filter);
    std::string path = layer(entries, c.filter, "layer-" + std::to_string(c.filter));
    UnpackResult result = unpack_layer(path, c.compression, target_);
    EXPECT_EQ(result.diff_id, expected);
    EXPECT_EQ(result.unpacked_bytes, 6u + 19u + 1u + 300'000u + 24u);
    expect_sample_tree(target_);
    isolate::remove_tree(target_);
    isolate::make_dirs(target_);
  }
}

TEST_F(UnpackTest, DiffIdCoversTrailingPaddingOfTheTar) {
  // A tar padded to 10240 bytes: the reader stops at the end marker, the hash must not.
  archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  archive_write_set_bytes_in_last_block(a, 10240);
  std::string path = base_ + "/padded.tar";
  ASSERT_EQ(archive_write_open_filename(a, path.c_str()), ARCHIVE_OK);
  archive_entry* entry = archive_entry_new();
  archive_entry_set_pathname(entry, "f");
  archive_entry_set_filetype(entry, AE_IFREG);
  archive_entry_set_perm(entry, 0644);
  archive_entry_set_size(entry, 2);
  archive_write_header(a, entry);
  archive_write_data(a, "hi", 2);
  archive_entry_free(entry);
  archive_write_close(a);
  archive_write_free(a);
  std::string data = slurp(path);
  ASSERT_EQ(data.size(), 10240u);
  EXPECT_EQ(unpack_layer(path, Compression::None, target_).diff_id, sha256_of(data));
}

TEST_F(UnpackTest, RefusesAMismatchedCompression) {
  std::string gz = layer({file("a", "b")}, ARCHIVE_FILTER_GZIP, "a.tar.gz");
  EXPECT_THROW(unpack_layer(gz, Compression::None, target_), UnpackError);
  EXPECT_THROW(unpack_layer(gz, Compression::Zstd, target_), UnpackError);
  std::string tar = layer({file("a", "b")}, ARCHIVE_FILTER_NONE, "a.tar");
  EXPECT_THROW(unpack_layer(tar, Compression::Gzip, target_), UnpackError);
  EXPECT_TRUE(list_dir(target_).empty());
}

TEST_F(UnpackTest, RefusesATruncatedLayerAndEmptiesTheTarget) {
  std::string gz = layer({file("a", "first"), file("b", std::string(1 << 20, 'q'))},
                         ARCHIVE_FILTER_NONE, "big.tar");
  std::string data = slurp(gz);
  isolate::write_file_atomic(gz, data.substr(0, 4096), 0644);
  EXPECT_THROW(unpack_layer(gz, Compression::None, target_), UnpackError);
  EXPECT_TRUE(list_dir(target_).empty());
}

TEST_F(UnpackTest, RefusesANonEmptyTargetWithoutTouchingIt) {
  isolate::write_file_atomic(target_ + "/keep", "x", 0644);
  std::string path = layer({file("a", "b")});
  EXPECT_THROW(unpack_layer(path, Compression::None, target_), UnpackError);
  EXPECT_EQ(list_dir(target_), std::vector<std::string>{"keep"});
}

TEST_F(UnpackTest, LaterEntriesReplaceEarlierOnes) {
  std::string path = layer({file("a", "old"), file("a", "new"), dir("d"), file("d/child", "c"),
                            dir("d", 0700), file("x/y", "y"), file("x", "file over dir"),
                            symlink("s", "a"), file("s", "file over symlink")});
  unpack_layer(path, Compression::None, target_);
  EXPECT_EQ(slurp(target_ + "/a"), "new");
  EXPECT_EQ(slurp(target_ + "/d/child"), "c");  // a dir over a dir keeps its children
  EXPECT_EQ(lstat_of(target_ + "/d").st_mode & 07777, 0700u);
  EXPECT_EQ(slurp(target_ + "/x"), "file over dir");
  EXPECT_TRUE(S_ISREG(lstat_of(target_ + "/s").st_mode));
  EXPECT_EQ(slurp(target_ + "/a"), "new");  // not written through the symlink
}

TEST_F(UnpackTest, CreatesFifosAndDevicesAsRoot) {
  Entry fifo;
  fifo.path = "run/fifo";
  fifo.type = AE_IFIFO;
  fifo.perm = 0600;
  std::vector<Entry> entries{fifo};
  if (::geteuid() == 0) {
    Entry null;
    null.path = "dev/null";
    null.type = AE_IFCHR;
    null.perm = 0666;
    null.rdev = ::makedev(1, 3);
    Entry loop;
    loop.path = "dev/loop9";
    loop.type = AE_IFBLK;
    loop.perm = 0660;
    loop.rdev = ::makedev(7, 9);
    entries.push_back(null);
    entries.push_back(loop);
  }
  unpack_layer(layer(entries), Compression::None, target_);
  struct stat st = lstat_of(target_ + "/run/fifo");
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  HANOK_REQUIRE(::geteuid() == 0, "devices need root");
  st = lstat_of(target_ + "/dev/null");
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, ::makedev(1, 3));
  EXPECT_EQ(st.st_mode & 07777, 0666u);
  st = lstat_of(target_ + "/dev/loop9");
  EXPECT_TRUE(S_ISBLK(st.st_mode));
  EXPECT_EQ(st.st_rdev, ::makedev(7, 9));
}

TEST_F(UnpackTest, WhiteoutsBecomeOverlayWhiteouts) {
  HANOK_REQUIRE(::geteuid() == 0, "whiteouts and trusted.* xattrs need root");
  std::string path = layer({file("gone", "x"), file("etc/.wh.passwd", ""), dir("opaque"),
                            file("opaque/.wh..wh..opq", ""), file("opaque/kept", "k"),
                            file(".wh.gone", ""), file("etc/.wh..wh.plnk", "")});
  UnpackResult result = unpack_layer(path, Compression::None, target_);
  for (const char* name : {"/etc/passwd", "/gone"}) {
    struct stat st = lstat_of(target_ + name);
    EXPECT_TRUE(S_ISCHR(st.st_mode)) << name;
    EXPECT_EQ(st.st_rdev, ::makedev(0, 0)) << name;
  }
  EXPECT_FALSE(isolate::path_exists(target_ + "/etc/.wh.passwd"));
  EXPECT_FALSE(isolate::path_exists(target_ + "/etc/.wh..wh.plnk"));
  EXPECT_FALSE(isolate::path_exists(target_ + "/opaque/.wh..wh..opq"));
  char value[4] = {};
  ASSERT_EQ(
      ::getxattr((target_ + "/opaque").c_str(), "trusted.overlay.opaque", value, sizeof value), 1);
  EXPECT_EQ(value[0], 'y');
  EXPECT_EQ(slurp(target_ + "/opaque/kept"), "k");
  EXPECT_EQ(result.unpacked_bytes, 2u);  // "gone" and "kept"; markers are not files
}

TEST_F(UnpackTest, RefusesDotDotEntries) {
  expect_refused({file("ok", "fine"), file("../escape", "x")},
                 "layer entry \"../escape\": path escapes the layer root");
}

TEST_F(UnpackTest, RefusesAbsolutePathsThatClimbOut) {
  expect_refused({file("ok", "fine"), file("/abs/../../x", "x")},
                 "layer entry \"/abs/../../x\": path escapes the layer root");
}

TEST_F(UnpackTest, RefusesHardlinksOutOfTheRoot) {
  expect_refused({file("ok", "fine"), hardlink("pw", "../../etc/passwd")},
                 "path escapes the layer root");
}

TEST_F(UnpackTest, RefusesHardlinksToMissingTargets) {
  expect_refused({file("ok", "fine"), hardlink("pw", "etc/passwd")}, "layer entry \"pw\"");
}

TEST_F(UnpackTest, ConfinesWritesThroughAbsoluteSymlinks) {
  // "evil -> /" then "evil/etc/x": resolved inside the target, as in a chroot.
  std::string path =
      layer({symlink("evil", "/"), file("evil/etc/x", "confined"), symlink("up", "../../../.."),
             file("up/outside/y", "confined too"), symlink("abs", outside_), file("abs/z", "z")});
  unpack_layer(path, Compression::None, target_);
  EXPECT_EQ(slurp(target_ + "/etc/x"), "confined");
  EXPECT_EQ(slurp(target_ + "/outside/y"), "confined too");
  EXPECT_EQ(slurp(target_ + outside_ + "/z"), "z");
  EXPECT_TRUE(list_dir(outside_).empty());
  EXPECT_FALSE(isolate::path_exists("/etc/x"));
}

TEST_F(UnpackTest, HardlinkThroughASymlinkStaysInside) {
  std::string path = layer({symlink("evil", "/"), hardlink("pw", "evil/etc/passwd")});
  try {
    unpack_layer(path, Compression::None, target_);
    ADD_FAILURE() << "a hardlink to a missing (in-root) target was accepted";
  } catch (const UnpackError& e) {
    EXPECT_NE(std::string(e.what()).find("\"pw\""), std::string::npos) << e.what();
  }
  EXPECT_TRUE(list_dir(target_).empty());
}

// ".wh." names nothing, ".wh.." the directory itself, ".wh..." its parent: a layer that would
// hide (delete) the unpack directory or the directory above it is refused, nothing touched.
TEST_F(UnpackTest, WhiteoutsOfTheDirectoryItselfOrItsParentAreRefused) {
  for (const char* name : {".wh.", "sub/.wh..", "sub/.wh...", ".wh.."}) {
    SCOPED_TRACE(name);
    isolate::remove_tree(target_);
    isolate::make_dirs(target_);
    expect_refused({dir("sub"), file("sub/kept", "k"), file(name, "")},
                   "a whiteout must name an entry of its directory");
  }
}

// The cut points of a tar whose last file's data ends at `end`: Go's archive/tar (containerd)
// reads a layer that stops anywhere after the data (padding and end blocks missing, in part or
// whole); one whose data or next header is cut is refused.
class TarTrailerTest : public UnpackTest {
 protected:
  void SetUp() override {
    UnpackTest::SetUp();
    payload_ = std::string(700, 'Z');
    full_ = slurp(layer({file("first", "1"), file("last", payload_)}));
    end_ = full_.rfind(payload_) + payload_.size();
    padded_ = (end_ + 511) / 512 * 512;
  }
  UnpackResult unpack_cut(const std::string& bytes) {
    isolate::write_file_atomic(base_ + "/layer.tar", bytes, 0644);
    return unpack_layer(base_ + "/layer.tar", Compression::None, target_);
  }
  std::string payload_, full_;
  size_t end_ = 0, padded_ = 0;
};

TEST_F(TarTrailerTest, MissingPaddingOrEndBlocksAreAccepted) {
  for (size_t cut : {end_, end_ + 100, padded_, padded_ + 100, padded_ + 512}) {
    SCOPED_TRACE(cut);
    isolate::remove_tree(target_);
    isolate::make_dirs(target_);
    std::string bytes = full_.substr(0, cut);
    UnpackResult result = unpack_cut(bytes);
    EXPECT_EQ(slurp(target_ + "/last"), payload_);
    EXPECT_EQ(slurp(target_ + "/first"), "1");
    EXPECT_EQ(result.diff_id, sha256_of(bytes));  // every byte of the blob, as it is
  }
}

TEST_F(TarTrailerTest, CutDataOrACutHeaderIsRefused) {
  EXPECT_THROW(unpack_cut(full_.substr(0, end_ - 50)), UnpackError);
  EXPECT_TRUE(list_dir(target_).empty());
  // A header of a next entry, cut off after 300 bytes.
  std::string next = slurp(layer({file("another", "x")}, ARCHIVE_FILTER_NONE, "next.tar"));
  EXPECT_THROW(unpack_cut(full_.substr(0, padded_) + next.substr(0, 300)), UnpackError);
  EXPECT_TRUE(list_dir(target_).empty());
}

}  // namespace
}  // namespace hanok::images
