// resources_from_update_flags and parse_byte_size: runc update's flags.
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>

#include "oci/update_flags.hpp"

namespace hanok::oci {
namespace {

using Flags = std::map<std::string, std::string>;

// The std::invalid_argument message, or "<accepted>".
std::string flag_error(const Flags& flags) {
  try {
    resources_from_update_flags(flags);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "<accepted>";
}

constexpr int64_t kKiB = 1024;
constexpr int64_t kMiB = kKiB * 1024;
constexpr int64_t kGiB = kMiB * 1024;

TEST(UpdateFlags, EveryFlag) {
  auto r = resources_from_update_flags({{"blkio-weight", "500"},
                                        {"cpu-period", "100000"},
                                        {"cpu-quota", "50000"},
                                        {"cpu-burst", "10000"},
                                        {"cpu-share", "512"},
                                        {"cpu-rt-period", "1000000"},
                                        {"cpu-rt-runtime", "950000"},
                                        {"cpu-idle", "1"},
                                        {"cpuset-cpus", "0-3"},
                                        {"cpuset-mems", "0"},
                                        {"memory", "1g"},
                                        {"memory-reservation", "512m"},
                                        {"memory-swap", "2G"},
                                        {"pids-limit", "100"}});
  ASSERT_TRUE(r.block_io);
  EXPECT_EQ(r.block_io->weight, 500);
  ASSERT_TRUE(r.cpu);
  EXPECT_EQ(r.cpu->period, 100000u);
  EXPECT_EQ(r.cpu->quota, 50000);
  EXPECT_EQ(r.cpu->burst, 10000u);
  EXPECT_EQ(r.cpu->shares, 512u);
  EXPECT_EQ(r.cpu->realtime_period, 1000000u);
  EXPECT_EQ(r.cpu->realtime_runtime, 950000);
  EXPECT_EQ(r.cpu->idle, 1);
  EXPECT_EQ(r.cpu->cpus, "0-3");
  EXPECT_EQ(r.cpu->mems, "0");
  ASSERT_TRUE(r.memory);
  EXPECT_EQ(r.memory->limit, kGiB);
  EXPECT_EQ(r.memory->reservation, 512 * kMiB);
  EXPECT_EQ(r.memory->swap, 2 * kGiB);
  EXPECT_FALSE(r.memory->kernel);
  EXPECT_EQ(r.pids_limit, 100);
  EXPECT_TRUE(r.devices.empty());
  EXPECT_TRUE(r.unified.empty());
}

TEST(UpdateFlags, NoFlagsNoChanges) {
  auto r = resources_from_update_flags({});
  EXPECT_FALSE(r.memory);
  EXPECT_FALSE(r.cpu);
  EXPECT_FALSE(r.block_io);
  EXPECT_FALSE(r.pids_limit);
}

TEST(UpdateFlags, EmptyValuesAreNotGiven) {
  auto r = resources_from_update_flags(
      {{"memory", ""}, {"cpu-quota", ""}, {"l3-cache-schema", ""}, {"blkio-weight", ""}});
  EXPECT_FALSE(r.memory);
  EXPECT_FALSE(r.cpu);
  EXPECT_FALSE(r.block_io);
}

TEST(UpdateFlags, MinusOneIsUnlimited) {
  auto r = resources_from_update_flags(
      {{"memory", "-1"}, {"memory-swap", "-1"}, {"cpu-quota", "-1"}, {"pids-limit", "-1"}});
  EXPECT_EQ(r.memory->limit, -1);
  EXPECT_EQ(r.memory->swap, -1);
  EXPECT_EQ(r.cpu->quota, -1);
  EXPECT_EQ(r.pids_limit, -1);
}

TEST(UpdateFlags, ZeroLeavesUnchangedWhereRuncSaysSo) {
  auto r = resources_from_update_flags({{"cpu-share", "0"},
                                        {"cpu-period", "0"},
                                        {"cpu-quota", "0"},
                                        {"cpu-rt-period", "0"},
                                        {"memory-swap", "0"},
                                        {"blkio-weight", "0"},
                                        {"pids-limit", "0"}});
  ASSERT_TRUE(r.cpu);
  EXPECT_FALSE(r.cpu->shares);
  EXPECT_FALSE(r.cpu->period);
  EXPECT_FALSE(r.cpu->quota);
  EXPECT_FALSE(r.cpu->realtime_period);
  EXPECT_FALSE(r.memory && r.memory->swap);
  EXPECT_FALSE(r.block_io);
  EXPECT_FALSE(r.pids_limit);
}

TEST(UpdateFlags, MemorySizes) {
  EXPECT_EQ(resources_from_update_flags({{"memory", "64m"}}).memory->limit, 64 * kMiB);
  EXPECT_EQ(resources_from_update_flags({{"memory", "1024"}}).memory->limit, 1024);
  EXPECT_EQ(resources_from_update_flags({{"memory", "1.5g"}}).memory->limit, 3 * kGiB / 2);
  EXPECT_EQ(resources_from_update_flags({{"memory-reservation", "512KiB"}}).memory->reservation,
            512 * kKiB);
}

TEST(UpdateFlags, RejectsBadSizes) {
  EXPECT_EQ(flag_error({{"memory", "abc"}}), "--memory: invalid size \"abc\"");
  EXPECT_EQ(flag_error({{"memory", "-2"}}), "--memory: invalid size \"-2\"");
  EXPECT_EQ(flag_error({{"memory-swap", "1x"}}), "--memory-swap: invalid size \"1x\"");
  EXPECT_EQ(flag_error({{"memory-reservation", "10pb5"}}),
            "--memory-reservation: invalid size \"10pb5\"");
}

TEST(UpdateFlags, RejectsBadIntegers) {
  EXPECT_EQ(flag_error({{"cpu-quota", "abc"}}), "--cpu-quota: invalid integer \"abc\"");
  EXPECT_EQ(flag_error({{"cpu-period", "-1"}}), "--cpu-period: invalid integer \"-1\"");
  EXPECT_EQ(flag_error({{"cpu-share", "1.5"}}), "--cpu-share: invalid integer \"1.5\"");
  EXPECT_EQ(flag_error({{"cpu-burst", "10ms"}}), "--cpu-burst: invalid integer \"10ms\"");
  EXPECT_EQ(flag_error({{"cpu-rt-runtime", " 5"}}), "--cpu-rt-runtime: invalid integer \" 5\"");
  EXPECT_EQ(flag_error({{"blkio-weight", "70000"}}), "--blkio-weight: invalid integer \"70000\"");
  EXPECT_EQ(flag_error({{"pids-limit", "many"}}), "--pids-limit: invalid integer \"many\"");
  EXPECT_EQ(flag_error({{"cpu-idle", "yes"}}), "--cpu-idle: invalid integer \"yes\"");
}

TEST(UpdateFlags, RangeErrorsNameTheFlag) {
  EXPECT_EQ(flag_error({{"cpu-share", "1"}}), "--cpu-share: must be from 2 to 262144");
  EXPECT_EQ(flag_error({{"cpu-period", "100"}}), "--cpu-period: must be from 1000 to 1000000");
  EXPECT_EQ(flag_error({{"cpu-quota", "10"}}),
            "--cpu-quota: must be -1 (unlimited) or at least 1000");
  EXPECT_EQ(flag_error({{"cpu-quota", "10000"}, {"cpu-burst", "20000"}}),
            "--cpu-burst: must not exceed cpu.quota");
  EXPECT_EQ(flag_error({{"blkio-weight", "5"}}), "--blkio-weight: must be from 10 to 1000");
  EXPECT_EQ(flag_error({{"cpuset-cpus", "3-1"}}), "--cpuset-cpus: invalid cpuset list \"3-1\"");
  EXPECT_EQ(flag_error({{"cpuset-mems", "x"}}), "--cpuset-mems: invalid cpuset list \"x\"");
  EXPECT_EQ(flag_error({{"cpu-idle", "2"}}), "--cpu-idle: must be 0 or 1");
  EXPECT_EQ(flag_error({{"memory", "0"}}),
            "--memory: must be -1 (unlimited) or a positive number of bytes");
  EXPECT_EQ(flag_error({{"memory", "1g"}, {"memory-swap", "512m"}}),
            "--memory-swap: must be at least memory.limit");
}

TEST(UpdateFlags, RejectsIntelRdtAndUnknownFlags) {
  EXPECT_EQ(flag_error({{"l3-cache-schema", "L3:0=f"}}),
            "--l3-cache-schema: Intel RDT is not supported");
  EXPECT_EQ(flag_error({{"mem-bw-schema", "MB:0=20"}}),
            "--mem-bw-schema: Intel RDT is not supported");
  EXPECT_EQ(flag_error({{"cpu-shares", "512"}}), "--cpu-shares: unknown update flag");
}

TEST(UpdateFlags, KernelMemoryIsIgnored) {
  auto r = resources_from_update_flags({{"kernel-memory", "1g"}, {"kernel-memory-tcp", "1m"}});
  EXPECT_FALSE(r.memory);
}

TEST(UpdateByteSize, Units) {
  EXPECT_EQ(parse_byte_size("0"), 0);
  EXPECT_EQ(parse_byte_size("1024"), 1024);
  EXPECT_EQ(parse_byte_size("10b"), 10);
  EXPECT_EQ(parse_byte_size("10B"), 10);
  EXPECT_EQ(parse_byte_size("1k"), kKiB);
  EXPECT_EQ(parse_byte_size("1K"), kKiB);
  EXPECT_EQ(parse_byte_size("1kb"), kKiB);
  EXPECT_EQ(parse_byte_size("1KiB"), kKiB);
  EXPECT_EQ(parse_byte_size("64m"), 64 * kMiB);
  EXPECT_EQ(parse_byte_size("64MB"), 64 * kMiB);
  EXPECT_EQ(parse_byte_size("2 GB"), 2 * kGiB);
  EXPECT_EQ(parse_byte_size("1g"), kGiB);
  EXPECT_EQ(parse_byte_size("1t"), kGiB * 1024);
  EXPECT_EQ(parse_byte_size("1p"), kGiB * 1024 * 1024);
  EXPECT_EQ(parse_byte_size("1.5k"), 1536);
  EXPECT_EQ(parse_byte_size("0.5m"), kMiB / 2);
  EXPECT_EQ(parse_byte_size("8191p"), 8191 * kGiB * 1024 * 1024);
  EXPECT_EQ(parse_byte_size("9223372036854775807"), INT64_MAX);
  // go-units quirks runc inherits: a space before the unit, a trailing space, "i" alone.
  EXPECT_EQ(parse_byte_size("1 "), 1);
  EXPECT_EQ(parse_byte_size("1ib"), 1);
}

TEST(UpdateByteSize, Rejects) {
  for (const char* bad :
       {"", "abc", "-1", "-5m", "1x", "1.", ".5", "1..5", "1.5.5", "1gg", "1 g ", "1  g", "g",
        "1bi", "8192p", "9223372036854775808", "99999999999999999999999k", "+1"}) {
    EXPECT_FALSE(parse_byte_size(bad)) << bad;
  }
}

}  // namespace
}  // namespace hanok::oci
