// hanokd's configuration and the image facts it serves: relative paths resolved, bad values
// named, an image config's User read as containerd reads it, the platform it pulls for.
#include <gtest/gtest.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <climits>
#include <string>

#include "cri/config.hpp"
#include "cri/image_service.hpp"
#include "images/manifest.hpp"
#include "isolate/files.hpp"

namespace hanok::cri {
namespace {

TEST(DaemonConfig, RelativePathsAreMadeAbsolute) {
  DaemonConfig config;
  config.socket = "rel.sock";
  config.root = "./data/../root";
  char cwd[PATH_MAX];
  ASSERT_NE(::getcwd(cwd, sizeof cwd), nullptr);
  finish_config(config);
  EXPECT_EQ(config.socket, std::string(cwd) + "/rel.sock");
  EXPECT_EQ(config.root, std::string(cwd) + "/root");
  EXPECT_EQ(config.state, "/run/hanok");
}

TEST(DaemonConfig, BadValuesAreNamed) {
  DaemonConfig empty;
  empty.socket = "";
  try {
    finish_config(empty);
    ADD_FAILURE() << "an empty socket was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("socket"), std::string::npos) << e.what();
  }
  DaemonConfig platform;
  platform.platform = "linux";
  EXPECT_THROW(finish_config(platform), std::invalid_argument);

  char name[] = "/tmp/hanok-config-XXXXXX";
  int fd = ::mkstemp(name);
  ASSERT_GE(fd, 0);
  ::close(fd);
  isolate::write_file_atomic(name, "max_concurrent_downloads = 0\n");
  DaemonConfig file_config;
  try {
    load_config_file(name, true, file_config);
    ADD_FAILURE() << "max_concurrent_downloads = 0 was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("max_concurrent_downloads"), std::string::npos);
  }
  isolate::write_file_atomic(name,
                             "max_concurrent_downloads = 5\nimage_pull_progress_timeout = 60\n"
                             "platform = \"linux/arm64\"\npinned_images = [\"busybox\"]\n");
  load_config_file(name, true, file_config);
  EXPECT_EQ(file_config.max_concurrent_downloads, 5);
  EXPECT_EQ(file_config.image_pull_progress_timeout_s, 60);
  EXPECT_EQ(file_config.platform, "linux/arm64");
  EXPECT_EQ(file_config.pinned_images, std::vector<std::string>{"busybox"});
  // The safe defaults, and the keys that change them.
  EXPECT_FALSE(file_config.restore_unsigned_checkpoints);
  EXPECT_EQ(file_config.exec_sync_buffer_limit, 256 << 20);
  isolate::write_file_atomic(name,
                             "restore_unsigned_checkpoints = true\n"
                             "exec_sync_buffer_limit = 33554432\n");
  load_config_file(name, true, file_config);
  EXPECT_TRUE(file_config.restore_unsigned_checkpoints);
  EXPECT_EQ(file_config.exec_sync_buffer_limit, 32 << 20);
  isolate::write_file_atomic(name, "restore_unsigned_checkpoints = \"yes\"\n");
  try {
    load_config_file(name, true, file_config);
    ADD_FAILURE() << "restore_unsigned_checkpoints = \"yes\" was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("restore_unsigned_checkpoints: must be true or false"),
              std::string::npos)
        << e.what();
  }
  // The stats collector's period: 10 s unless set; below 100 ms (a walk of every layer in a loop)
  // or past an hour is refused, naming the key.
  EXPECT_EQ(file_config.stats_collect_period_ms, 10000);
  isolate::write_file_atomic(name, "stats_collect_period_ms = 2000\n");
  load_config_file(name, true, file_config);
  EXPECT_EQ(file_config.stats_collect_period_ms, 2000);
  for (const char* bad :
       {"stats_collect_period_ms = 0\n", "stats_collect_period_ms = 99\n",
        "stats_collect_period_ms = 3600001\n", "stats_collect_period_ms = \"10s\"\n"}) {
    isolate::write_file_atomic(name, bad);
    DaemonConfig refused;
    try {
      load_config_file(name, true, refused);
      ADD_FAILURE() << bad << " was accepted";
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find("stats_collect_period_ms"), std::string::npos)
          << e.what();
    }
  }
  ::unlink(name);
}

ImageUser user_of(const std::string& user) {
  return image_user(R"({"config": {"User": ")" + user + R"("}})");
}

TEST(ImageUser, NumbersThatAreUidsAndNamesOtherwise) {
  EXPECT_EQ(user_of("1000").uid, 1000);
  EXPECT_EQ(user_of("1000:2000").uid, 1000);
  EXPECT_EQ(user_of("0").uid, 0);
  EXPECT_EQ(user_of("4294967295").uid, 4294967295LL);
  EXPECT_EQ(user_of("www-data:www-data").username, "www-data");
  // Not a uid a kernel has: a name, as containerd takes it (and never an exception).
  ImageUser huge = user_of("99999999999999999999");
  EXPECT_FALSE(huge.uid.has_value());
  EXPECT_EQ(huge.username, "99999999999999999999");
  EXPECT_EQ(user_of("4294967296").username, "4294967296");
  EXPECT_FALSE(user_of("").uid.has_value());
  EXPECT_TRUE(user_of("").username.empty());
  EXPECT_TRUE(image_user("not json").username.empty());
  EXPECT_TRUE(image_user(R"({"config": {"User": 12}})").username.empty());
}

TEST(Platform, TheHostsAndParsedOnes) {
  utsname name{};
  ASSERT_EQ(::uname(&name), 0);
  images::Platform host = images::host_platform();
  EXPECT_EQ(host.os, "linux");
  if (std::string(name.machine) == "x86_64") {
    EXPECT_EQ(host.architecture, "amd64");
  }
  if (std::string(name.machine) == "aarch64") {
    EXPECT_EQ(host.architecture, "arm64");
  }
  images::Platform arm = images::parse_platform("linux/arm/v7");
  EXPECT_EQ(arm.architecture, "arm");
  EXPECT_EQ(arm.variant, "v7");
  EXPECT_THROW(images::parse_platform("linux/"), std::invalid_argument);
  EXPECT_THROW(images::parse_platform("a/b/c/d"), std::invalid_argument);
}

}  // namespace
}  // namespace hanok::cri
