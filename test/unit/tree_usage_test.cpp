// isolate::tree_usage, which the stats collector runs over every writable layer: each inode once
// (a hard link counts once, however many names it has), directories included, the top itself not.
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

#include "isolate/files.hpp"
#include "isolate/tree_walk.hpp"

namespace hanok::isolate {
namespace {

TEST(TreeUsage, EachInodeOnceHardLinksIncluded) {
  char name[] = "/var/tmp/hanok-tree-usage-XXXXXX";
  ASSERT_NE(::mkdtemp(name), nullptr);
  std::string dir = name;
  make_dirs(dir + "/sub", 0755);
  write_file_atomic(dir + "/a", std::string(8192, 'a'), 0644);
  write_file_atomic(dir + "/sub/c", "c", 0644);
  ASSERT_EQ(::link((dir + "/a").c_str(), (dir + "/sub/b").c_str()), 0);
  ASSERT_EQ(::link((dir + "/a").c_str(), (dir + "/sub/d").c_str()), 0);
  TreeUsage usage = tree_usage(dir);
  EXPECT_EQ(usage.inodes, 3u);  // a (three names), sub, sub/c
  TreeUsage without_links = tree_usage(dir + "/sub");
  EXPECT_EQ(without_links.inodes, 2u);  // b (the same inode as d), c
  EXPECT_GE(usage.bytes, 8192u);
  remove_tree(dir);
}

}  // namespace
}  // namespace hanok::isolate
