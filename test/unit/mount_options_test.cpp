// isolate::parse_mount_options and propagation_from_name.
#include "isolate/mount_options.hpp"

#include <gtest/gtest.h>
#include <sys/mount.h>

namespace hanok::isolate {
namespace {

TEST(MountOptions, EmptyListGivesNothing) {
  MountOptions o = parse_mount_options({});
  EXPECT_EQ(o.flags, 0u);
  EXPECT_EQ(o.clear_flags, 0u);
  EXPECT_EQ(o.propagation, 0u);
  EXPECT_FALSE(o.bind);
  EXPECT_FALSE(o.recursive);
  EXPECT_EQ(o.data, "");
}

TEST(MountOptions, SettingFlags) {
  struct Case {
    const char* name;
    unsigned long flag;
  };
  for (const Case& c :
       {Case{"ro", MS_RDONLY}, Case{"nosuid", MS_NOSUID}, Case{"nodev", MS_NODEV},
        Case{"noexec", MS_NOEXEC}, Case{"sync", MS_SYNCHRONOUS}, Case{"dirsync", MS_DIRSYNC},
        Case{"remount", MS_REMOUNT}, Case{"mand", MS_MANDLOCK}, Case{"noatime", MS_NOATIME},
        Case{"nodiratime", MS_NODIRATIME}, Case{"relatime", MS_RELATIME},
        Case{"strictatime", MS_STRICTATIME}, Case{"lazytime", 1ul << 25}}) {
    MountOptions o = parse_mount_options({c.name});
    EXPECT_EQ(o.flags, c.flag) << c.name;
    EXPECT_EQ(o.clear_flags, 0u) << c.name;
    EXPECT_EQ(o.data, "") << c.name;
  }
}

TEST(MountOptions, ClearingFlags) {
  struct Case {
    const char* name;
    unsigned long flag;
  };
  for (const Case& c :
       {Case{"rw", MS_RDONLY}, Case{"suid", MS_NOSUID}, Case{"dev", MS_NODEV},
        Case{"exec", MS_NOEXEC}, Case{"async", MS_SYNCHRONOUS}, Case{"nomand", MS_MANDLOCK},
        Case{"atime", MS_NOATIME}, Case{"diratime", MS_NODIRATIME}, Case{"norelatime", MS_RELATIME},
        Case{"nostrictatime", MS_STRICTATIME}, Case{"nolazytime", 1ul << 25}}) {
    MountOptions o = parse_mount_options({c.name});
    EXPECT_EQ(o.flags, 0u) << c.name;
    EXPECT_EQ(o.clear_flags, c.flag) << c.name;
    EXPECT_EQ(o.data, "") << c.name;
  }
}

TEST(MountOptions, LaterOptionWins) {
  MountOptions o = parse_mount_options({"ro", "nosuid", "rw"});
  EXPECT_EQ(o.flags, static_cast<unsigned long>(MS_NOSUID));
  EXPECT_EQ(o.clear_flags, static_cast<unsigned long>(MS_RDONLY));
  o = parse_mount_options({"rw", "ro"});
  EXPECT_EQ(o.flags, static_cast<unsigned long>(MS_RDONLY));
  EXPECT_EQ(o.clear_flags, 0u);
}

TEST(MountOptions, Bind) {
  MountOptions o = parse_mount_options({"bind"});
  EXPECT_TRUE(o.bind);
  EXPECT_FALSE(o.recursive);
  EXPECT_EQ(o.flags, static_cast<unsigned long>(MS_BIND));
  o = parse_mount_options({"rbind", "ro"});
  EXPECT_TRUE(o.bind);
  EXPECT_TRUE(o.recursive);
  EXPECT_EQ(o.flags, static_cast<unsigned long>(MS_BIND | MS_REC | MS_RDONLY));
  EXPECT_EQ(o.data, "");
}

TEST(MountOptions, Propagation) {
  EXPECT_EQ(parse_mount_options({"rprivate"}).propagation,
            static_cast<unsigned long>(MS_PRIVATE | MS_REC));
  EXPECT_EQ(parse_mount_options({"shared"}).propagation, static_cast<unsigned long>(MS_SHARED));
  MountOptions o = parse_mount_options({"bind", "rslave"});
  EXPECT_EQ(o.propagation, static_cast<unsigned long>(MS_SLAVE | MS_REC));
  EXPECT_EQ(o.flags, static_cast<unsigned long>(MS_BIND));  // propagation stays separate
}

TEST(MountOptions, UnknownOptionsGoToData) {
  MountOptions o = parse_mount_options(
      {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"});
  EXPECT_EQ(o.flags, static_cast<unsigned long>(MS_NOSUID | MS_NOEXEC));
  EXPECT_EQ(o.data, "newinstance,ptmxmode=0666,mode=0620,gid=5");
  EXPECT_EQ(parse_mount_options({"mode=755"}).data, "mode=755");
  EXPECT_EQ(parse_mount_options({"defaults"}).data, "");
}

TEST(PropagationFromName, AllNames) {
  EXPECT_EQ(propagation_from_name("shared"), static_cast<unsigned long>(MS_SHARED));
  EXPECT_EQ(propagation_from_name("rshared"), static_cast<unsigned long>(MS_SHARED | MS_REC));
  EXPECT_EQ(propagation_from_name("slave"), static_cast<unsigned long>(MS_SLAVE));
  EXPECT_EQ(propagation_from_name("rslave"), static_cast<unsigned long>(MS_SLAVE | MS_REC));
  EXPECT_EQ(propagation_from_name("private"), static_cast<unsigned long>(MS_PRIVATE));
  EXPECT_EQ(propagation_from_name("rprivate"), static_cast<unsigned long>(MS_PRIVATE | MS_REC));
  EXPECT_EQ(propagation_from_name("unbindable"), static_cast<unsigned long>(MS_UNBINDABLE));
  EXPECT_EQ(propagation_from_name("runbindable"),
            static_cast<unsigned long>(MS_UNBINDABLE | MS_REC));
  EXPECT_EQ(propagation_from_name("ro"), 0u);
  EXPECT_EQ(propagation_from_name(""), 0u);
}

}  // namespace
}  // namespace hanok::isolate
