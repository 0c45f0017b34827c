// A writable layer written as a layer tar (a checkpoint's rootfs diff) and unpacked again: the
// same files, modes, links, whiteouts and opaque directories; symlinks kept as links, never
// followed out of the layer.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <map>
#include <sstream>
#include <string>

#include "../common/require.hpp"
#include "images/layer_diff.hpp"
#include "images/unpack.hpp"
#include "isolate/files.hpp"
#include "isolate/spawn.hpp"

namespace hanok::images {
namespace {

class LayerDiffTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HANOK_REQUIRE(::geteuid() == 0, "needs root (whiteouts are 0:0 devices, trusted xattrs)");
    char dir_template[] = "/var/tmp/hanok-layer-diff-XXXXXX";
    ASSERT_NE(::mkdtemp(dir_template), nullptr);
    dir_ = dir_template;
    upper_ = dir_ + "/upper";
    again_ = dir_ + "/again";
    isolate::make_dirs(upper_, 0755);
    isolate::make_dirs(again_, 0755);
  }
  void TearDown() override {
    if (!dir_.empty()) isolate::remove_tree(dir_);
  }
  std::string dir_, upper_, again_;
};

// The entries of a tar archive as /bin/tar lists them: name -> the type letter of its mode
// ('-' a regular file, 'd', 'l', 'c', ...).
std::map<std::string, char> tar_entries(const std::string& tar) {
  auto listing = isolate::run_program({"/bin/tar", "--list", "--verbose", "--file", tar});
  EXPECT_TRUE(listing.succeeded()) << listing.output;
  std::map<std::string, char> entries;
  std::istringstream lines(listing.output);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    std::string mode, owner, size, date, time, name;
    if (fields >> mode >> owner >> size >> date >> time >> name) entries[name] = mode[0];
  }
  return entries;
}

TEST_F(LayerDiffTest, RoundTripsThroughUnpack) {
  isolate::make_dirs(upper_ + "/etc/conf.d", 0750);
  isolate::write_file_atomic(upper_ + "/etc/conf.d/app.conf", "key=value\n", 0640);
  ASSERT_EQ(::symlink("/etc/passwd", (upper_ + "/escape").c_str()), 0);
  ASSERT_EQ(::mknod((upper_ + "/etc/gone").c_str(), S_IFCHR | 0000, makedev(0, 0)), 0);
  isolate::make_dirs(upper_ + "/var/cache", 0755);
  ASSERT_EQ(::setxattr((upper_ + "/var/cache").c_str(), "trusted.overlay.opaque", "y", 1, 0), 0);
  isolate::write_file_atomic(upper_ + "/var/cache/fresh", "new", 0600);
  ASSERT_EQ(::chown((upper_ + "/var/cache/fresh").c_str(), 1234, 5678), 0);

  std::string tar = dir_ + "/diff.tar";
  LayerDiff diff = write_layer_diff(upper_, tar);
  EXPECT_EQ(diff.deleted, (std::vector<std::string>{"etc/gone", "var/cache/*"}));
  // In the archive, the OCI layer format: whiteouts are empty regular files named .wh.<name>,
  // an opaque directory holds .wh..wh..opq; no overlayfs device is written.
  std::map<std::string, char> entries = tar_entries(tar);
  EXPECT_EQ(entries["etc/.wh.gone"], '-');
  EXPECT_EQ(entries["var/cache/.wh..wh..opq"], '-');
  EXPECT_EQ(entries.count("etc/gone"), 0u);
  EXPECT_EQ(entries["var/cache/fresh"], '-');
  unpack_layer(tar, Compression::None, again_);

  EXPECT_EQ(isolate::read_file(again_ + "/etc/conf.d/app.conf"), "key=value\n");
  struct stat st {};
  ASSERT_EQ(::stat((again_ + "/etc/conf.d/app.conf").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  ASSERT_EQ(::stat((again_ + "/etc/conf.d").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0750u);
  ASSERT_EQ(::stat((again_ + "/var/cache/fresh").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 1234u);
  EXPECT_EQ(st.st_gid, 5678u);
  char target[64] = {};
  ASSERT_GT(::readlink((again_ + "/escape").c_str(), target, sizeof target - 1), 0);
  EXPECT_STREQ(target, "/etc/passwd");
  ASSERT_EQ(::lstat((again_ + "/etc/gone").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0)) << "the whiteout was lost";
  char opaque[2] = {};
  EXPECT_EQ(::getxattr((again_ + "/var/cache").c_str(), "trusted.overlay.opaque", opaque, 2), 1);
}

TEST_F(LayerDiffTest, NeverFollowsALinkOutOfTheLayer) {
  // A directory swapped for a link to the host's /etc: written as the link, not as /etc.
  ASSERT_EQ(::symlink("/etc", (upper_ + "/etc").c_str()), 0);
  std::string tar = dir_ + "/diff.tar";
  LayerDiff diff = write_layer_diff(upper_, tar);
  EXPECT_EQ(diff.entries, 1u);
  unpack_layer(tar, Compression::None, again_);
  struct stat st {};
  ASSERT_EQ(::lstat((again_ + "/etc").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  // And an existing archive is never overwritten.
  EXPECT_THROW(write_layer_diff(upper_, tar), std::exception);
}

}  // namespace
}  // namespace hanok::images
