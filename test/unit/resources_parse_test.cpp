// parse_resources, validate_resources, resources_to_json and merge_resources.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <tuple>

#include "isolate/cgroup.hpp"
#include "oci/resources.hpp"
#include "oci/spec.hpp"
#include "spec_test_util.hpp"

// Field-by-field equality for the round-trip tests (internal linkage: test-only, found by ADL).
namespace hanok::isolate::cgroup {

[[maybe_unused]] static bool operator==(const DeviceRule& a, const DeviceRule& b) {
  return std::tie(a.allow, a.type, a.major, a.minor, a.access) ==
         std::tie(b.allow, b.type, b.major, b.minor, b.access);
}
[[maybe_unused]] static bool operator==(const WeightDevice& a, const WeightDevice& b) {
  return std::tie(a.major, a.minor, a.weight, a.leaf_weight) ==
         std::tie(b.major, b.minor, b.weight, b.leaf_weight);
}
[[maybe_unused]] static bool operator==(const ThrottleDevice& a, const ThrottleDevice& b) {
  return std::tie(a.major, a.minor, a.rate) == std::tie(b.major, b.minor, b.rate);
}
[[maybe_unused]] static bool operator==(const HugepageLimit& a, const HugepageLimit& b) {
  return std::tie(a.page_size, a.limit) == std::tie(b.page_size, b.limit);
}
[[maybe_unused]] static bool operator==(const Resources::Memory& a, const Resources::Memory& b) {
  return std::tie(a.limit, a.reservation, a.swap, a.kernel, a.kernel_tcp, a.swappiness,
                  a.disable_oom_killer, a.use_hierarchy, a.check_before_update) ==
         std::tie(b.limit, b.reservation, b.swap, b.kernel, b.kernel_tcp, b.swappiness,
                  b.disable_oom_killer, b.use_hierarchy, b.check_before_update);
}
[[maybe_unused]] static bool operator==(const Resources::Cpu& a, const Resources::Cpu& b) {
  return std::tie(a.shares, a.quota, a.burst, a.period, a.realtime_runtime, a.realtime_period,
                  a.cpus, a.mems, a.idle) == std::tie(b.shares, b.quota, b.burst, b.period,
                                                      b.realtime_runtime, b.realtime_period, b.cpus,
                                                      b.mems, b.idle);
}
[[maybe_unused]] static bool operator==(const Resources::BlockIo& a, const Resources::BlockIo& b) {
  return std::tie(a.weight, a.leaf_weight, a.weight_devices, a.throttle_read_bps,
                  a.throttle_write_bps, a.throttle_read_iops, a.throttle_write_iops) ==
         std::tie(b.weight, b.leaf_weight, b.weight_devices, b.throttle_read_bps,
                  b.throttle_write_bps, b.throttle_read_iops, b.throttle_write_iops);
}
[[maybe_unused]] static bool operator==(const Resources& a, const Resources& b) {
  return std::tie(a.devices, a.memory, a.cpu, a.pids_limit, a.block_io, a.hugepage_limits,
                  a.unified) == std::tie(b.devices, b.memory, b.cpu, b.pids_limit, b.block_io,
                                         b.hugepage_limits, b.unified);
}

}  // namespace hanok::isolate::cgroup

namespace hanok::oci {
namespace {

using isolate::cgroup::DeviceRule;
using isolate::cgroup::HugepageLimit;
using isolate::cgroup::Resources;
using isolate::cgroup::ThrottleDevice;
using isolate::cgroup::WeightDevice;
using nlohmann::json;
using testing::starts_with;

// The runtime-spec examples for every controller, plus the fields they leave out.
json full_resources() {
  return json::parse(R"({
    "devices": [
      {"allow": false, "access": "rwm"},
      {"allow": true, "type": "c", "major": 10, "minor": 229, "access": "rw"},
      {"allow": true, "type": "b", "major": 8, "minor": 0, "access": "r"},
      {"allow": true, "type": "c", "major": 136}
    ],
    "memory": {
      "limit": 536870912, "reservation": 268435456, "swap": 1073741824, "kernel": -1,
      "kernelTCP": -1, "swappiness": 0, "disableOOMKiller": false, "useHierarchy": true,
      "checkBeforeUpdate": true
    },
    "cpu": {
      "shares": 1024, "quota": 1000000, "burst": 1000000, "period": 500000,
      "realtimeRuntime": 950000, "realtimePeriod": 1000000, "cpus": "2-3", "mems": "0-7",
      "idle": 1
    },
    "pids": {"limit": 32771},
    "blockIO": {
      "weight": 10, "leafWeight": 20,
      "weightDevice": [
        {"major": 8, "minor": 0, "weight": 500, "leafWeight": 300},
        {"major": 8, "minor": 16, "weight": 500}
      ],
      "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 600}],
      "throttleWriteBpsDevice": [{"major": 8, "minor": 1, "rate": 700}],
      "throttleReadIOPSDevice": [{"major": 8, "minor": 2, "rate": 800}],
      "throttleWriteIOPSDevice": [{"major": 8, "minor": 16, "rate": 300}]
    },
    "hugepageLimits": [{"pageSize": "2MB", "limit": 209715200}, {"pageSize": "64KB", "limit": 1000000}],
    "network": {"classID": 1048577, "priorities": [{"name": "eth0", "priority": 500}]},
    "rdma": {"mlx5_1": {"hcaHandles": 3, "hcaObjects": 10000}},
    "unified": {"io.max": "259:0 rbps=2097152 wiops=120", "hugetlb.1GB.max": "1073741824"}
  })");
}

// A Resources with every field set, built without the parser.
Resources full_typed() {
  Resources r;
  r.devices = {DeviceRule{false, 'a', -1, -1, "rwm"}, DeviceRule{true, 'c', 10, 229, "rw"},
               DeviceRule{true, 'b', 8, -1, "m"}};
  r.memory.emplace();
  r.memory->limit = 1 << 30;
  r.memory->reservation = 1 << 29;
  r.memory->swap = -1;
  r.memory->kernel = 0;
  r.memory->kernel_tcp = 4096;
  r.memory->swappiness = 60;
  r.memory->disable_oom_killer = true;
  r.memory->use_hierarchy = false;
  r.memory->check_before_update = false;
  r.cpu.emplace();
  r.cpu->shares = 2;
  r.cpu->quota = -1;
  r.cpu->burst = 0;
  r.cpu->period = 100000;
  r.cpu->realtime_runtime = -1;
  r.cpu->realtime_period = 1000000;
  r.cpu->cpus = "0-3,5";
  r.cpu->mems = "0";
  r.cpu->idle = 0;
  r.pids_limit = -1;
  r.block_io.emplace();
  r.block_io->weight = 1000;
  r.block_io->leaf_weight = 10;
  r.block_io->weight_devices = {WeightDevice{8, 0, std::nullopt, 100}};
  r.block_io->throttle_read_bps = {ThrottleDevice{8, 0, 1}};
  r.block_io->throttle_write_bps = {ThrottleDevice{8, 0, 2}, ThrottleDevice{8, 16, 3}};
  r.block_io->throttle_read_iops = {ThrottleDevice{259, 0, 4}};
  r.block_io->throttle_write_iops = {ThrottleDevice{259, 1, 5}};
  r.hugepage_limits = {HugepageLimit{"1GB", 1ULL << 32}};
  r.unified = {{"memory.high", "max"}, {"cpu.weight.nice", "5"}};
  return r;
}

// The SpecError message, or "<accepted>".
std::string parse_error(const json& resources, const std::string& prefix = "linux.resources") {
  try {
    parse_resources(resources, prefix);
  } catch (const SpecError& e) {
    return e.what();
  }
  return "<accepted>";
}

std::string validate_error(const Resources& r) {
  try {
    validate_resources(r);
  } catch (const SpecError& e) {
    return e.what();
  }
  return "<accepted>";
}

#define EXPECT_RESOURCES_REJECTED(resources, prefix) \
  EXPECT_TRUE(starts_with(parse_error(resources), prefix))

// full_resources() with `pointer` (a JSON pointer) set to `value`.
json with(const std::string& pointer, json value) {
  json r = full_resources();
  r[json::json_pointer(pointer)] = std::move(value);
  return r;
}

// --- parsing ------------------------------------------------------------------------------

TEST(ResourcesParse, FullExample) {
  Resources r = parse_resources(full_resources());

  ASSERT_EQ(r.devices.size(), 4u);
  EXPECT_FALSE(r.devices[0].allow);
  EXPECT_EQ(r.devices[0].type, 'a');
  EXPECT_EQ(r.devices[0].major, -1);
  EXPECT_EQ(r.devices[0].minor, -1);
  EXPECT_EQ(r.devices[0].access, "rwm");
  EXPECT_TRUE(r.devices[1].allow);
  EXPECT_EQ(r.devices[1].type, 'c');
  EXPECT_EQ(r.devices[1].major, 10);
  EXPECT_EQ(r.devices[1].minor, 229);
  EXPECT_EQ(r.devices[1].access, "rw");
  EXPECT_EQ(r.devices[2].type, 'b');
  EXPECT_EQ(r.devices[2].minor, 0);
  EXPECT_EQ(r.devices[2].access, "r");
  EXPECT_EQ(r.devices[3].major, 136);
  EXPECT_EQ(r.devices[3].minor, -1);
  EXPECT_EQ(r.devices[3].access, "rwm");

  ASSERT_TRUE(r.memory);
  EXPECT_EQ(r.memory->limit, 536870912);
  EXPECT_EQ(r.memory->reservation, 268435456);
  EXPECT_EQ(r.memory->swap, 1073741824);
  EXPECT_EQ(r.memory->kernel, -1);
  EXPECT_EQ(r.memory->kernel_tcp, -1);
  EXPECT_EQ(r.memory->swappiness, 0u);
  EXPECT_EQ(r.memory->disable_oom_killer, false);
  EXPECT_EQ(r.memory->use_hierarchy, true);
  EXPECT_EQ(r.memory->check_before_update, true);

  ASSERT_TRUE(r.cpu);
  EXPECT_EQ(r.cpu->shares, 1024u);
  EXPECT_EQ(r.cpu->quota, 1000000);
  EXPECT_EQ(r.cpu->burst, 1000000u);
  EXPECT_EQ(r.cpu->period, 500000u);
  EXPECT_EQ(r.cpu->realtime_runtime, 950000);
  EXPECT_EQ(r.cpu->realtime_period, 1000000u);
  EXPECT_EQ(r.cpu->cpus, "2-3");
  EXPECT_EQ(r.cpu->mems, "0-7");
  EXPECT_EQ(r.cpu->idle, 1);

  EXPECT_EQ(r.pids_limit, 32771);

  ASSERT_TRUE(r.block_io);
  EXPECT_EQ(r.block_io->weight, 10);
  EXPECT_EQ(r.block_io->leaf_weight, 20);
  ASSERT_EQ(r.block_io->weight_devices.size(), 2u);
  EXPECT_EQ(r.block_io->weight_devices[0].major, 8);
  EXPECT_EQ(r.block_io->weight_devices[0].minor, 0);
  EXPECT_EQ(r.block_io->weight_devices[0].weight, 500);
  EXPECT_EQ(r.block_io->weight_devices[0].leaf_weight, 300);
  EXPECT_EQ(r.block_io->weight_devices[1].minor, 16);
  EXPECT_EQ(r.block_io->weight_devices[1].weight, 500);
  EXPECT_FALSE(r.block_io->weight_devices[1].leaf_weight);
  ASSERT_EQ(r.block_io->throttle_read_bps.size(), 1u);
  EXPECT_EQ(r.block_io->throttle_read_bps[0].rate, 600u);
  ASSERT_EQ(r.block_io->throttle_write_bps.size(), 1u);
  EXPECT_EQ(r.block_io->throttle_write_bps[0].minor, 1);
  EXPECT_EQ(r.block_io->throttle_write_bps[0].rate, 700u);
  ASSERT_EQ(r.block_io->throttle_read_iops.size(), 1u);
  EXPECT_EQ(r.block_io->throttle_read_iops[0].rate, 800u);
  ASSERT_EQ(r.block_io->throttle_write_iops.size(), 1u);
  EXPECT_EQ(r.block_io->throttle_write_iops[0].major, 8);
  EXPECT_EQ(r.block_io->throttle_write_iops[0].minor, 16);
  EXPECT_EQ(r.block_io->throttle_write_iops[0].rate, 300u);

  ASSERT_EQ(r.hugepage_limits.size(), 2u);
  EXPECT_EQ(r.hugepage_limits[0].page_size, "2MB");
  EXPECT_EQ(r.hugepage_limits[0].limit, 209715200u);
  EXPECT_EQ(r.hugepage_limits[1].page_size, "64KB");
  EXPECT_EQ(r.hugepage_limits[1].limit, 1000000u);

  EXPECT_EQ(r.unified,
            (std::map<std::string, std::string>{{"io.max", "259:0 rbps=2097152 wiops=120"},
                                                {"hugetlb.1GB.max", "1073741824"}}));
}

TEST(ResourcesParse, NullAndEmptyAreEmpty) {
  EXPECT_EQ(parse_resources(json()), Resources{});
  EXPECT_EQ(parse_resources(json::object()), Resources{});
  EXPECT_EQ(parse_resources(json{{"memory", nullptr}, {"cpu", nullptr}}), Resources{});
}

TEST(ResourcesParse, EmptyControllersArePresent) {
  Resources r = parse_resources(json{{"memory", json::object()}, {"cpu", json::object()}});
  ASSERT_TRUE(r.memory);
  EXPECT_EQ(*r.memory, Resources::Memory{});
  ASSERT_TRUE(r.cpu);
  EXPECT_FALSE(r.block_io);
  EXPECT_FALSE(r.pids_limit);
}

TEST(ResourcesParse, ZeroMeansUnsetWhereRuncSaysSo) {
  json zeros = {
      {"memory", {{"limit", 1 << 20}, {"swap", 0}, {"reservation", 0}}},
      {"cpu", {{"shares", 0}, {"quota", 0}, {"period", 0}, {"realtimePeriod", 0}, {"burst", 0}}},
      {"blockIO", {{"weight", 0}, {"leafWeight", 0}}},
      {"pids", {{"limit", 0}}}};
  Resources r = parse_resources(zeros);
  EXPECT_FALSE(r.memory->swap);
  EXPECT_EQ(r.memory->reservation, 0);
  EXPECT_FALSE(r.cpu->shares);
  EXPECT_FALSE(r.cpu->quota);
  EXPECT_FALSE(r.cpu->period);
  EXPECT_FALSE(r.cpu->realtime_period);
  EXPECT_EQ(r.cpu->burst, 0u);
  EXPECT_FALSE(r.block_io->weight);
  EXPECT_FALSE(r.block_io->leaf_weight);
  EXPECT_EQ(r.pids_limit, 0);
}

TEST(ResourcesParse, RuncSwappinessSentinelIsUnset) {
  json j = {{"memory", {{"swappiness", std::numeric_limits<uint64_t>::max()}}}};
  EXPECT_FALSE(parse_resources(j).memory->swappiness);
}

TEST(ResourcesParse, AcceptedEdgeValues) {
  Resources r = parse_resources(
      json{{"memory", {{"limit", -1}, {"swap", 100}, {"reservation", -1}, {"swappiness", 100}}},
           {"cpu", {{"quota", -1}, {"shares", 262144}, {"period", 1000}, {"cpus", "0,2-2,4-63"}}},
           {"pids", {{"limit", -1}}},
           {"blockIO", {{"weight", 1000}, {"leafWeight", 10}}}});
  EXPECT_EQ(r.memory->limit, -1);
  EXPECT_EQ(r.memory->swap, 100);
  EXPECT_EQ(r.cpu->quota, -1);
  EXPECT_EQ(r.pids_limit, -1);
  EXPECT_EQ(parse_error(json{{"memory", {{"limit", 100}, {"swap", 100}}}}), "<accepted>");
  EXPECT_EQ(parse_error(json{{"memory", {{"limit", 100}, {"swap", -1}}}}), "<accepted>");
  EXPECT_EQ(parse_error(json{{"cpu", {{"period", 1000000}, {"quota", 1000}}}}), "<accepted>");
  EXPECT_EQ(parse_error(json{{"cpu", {{"quota", -1}, {"burst", 5000}}}}), "<accepted>");
  EXPECT_EQ(parse_error(json{{"unified", {{"cgroup.subtree_control", "+io"}}}}), "<accepted>");
}

TEST(ResourcesParse, IgnoresUnknownFieldsNetworkAndRdma) {
  json j = {{"network", "anything"}, {"rdma", {1, 2}}, {"future", {{"x", 1}}}};
  EXPECT_EQ(parse_resources(j), Resources{});
}

TEST(ResourcesParse, CustomPathPrefix) {
  EXPECT_TRUE(starts_with(parse_error(json{{"memory", {{"limit", 0}}}}, "resources"),
                          "resources.memory.limit: must be -1 (unlimited)"));
  EXPECT_TRUE(starts_with(parse_error(json{{"unified", {{"..", "1"}}}}, "resources"),
                          "resources.unified[\"..\"]: invalid cgroup file name"));
}

// --- rejections ---------------------------------------------------------------------------

TEST(ResourcesParse, RejectsWrongTypes) {
  EXPECT_RESOURCES_REJECTED(json::array(), "linux.resources: must be an object, not an array");
  EXPECT_RESOURCES_REJECTED(with("/memory", 5),
                            "linux.resources.memory: must be an object, not an integer");
  EXPECT_RESOURCES_REJECTED(with("/memory/limit", "1g"),
                            "linux.resources.memory.limit: must be an integer from");
  EXPECT_RESOURCES_REJECTED(
      with("/memory/useHierarchy", 1),
      "linux.resources.memory.useHierarchy: must be a boolean, not an integer");
  EXPECT_RESOURCES_REJECTED(with("/memory/swappiness", -1),
                            "linux.resources.memory.swappiness: must be an integer from 0 to");
  EXPECT_RESOURCES_REJECTED(with("/cpu/cpus", 3),
                            "linux.resources.cpu.cpus: must be a string, not an integer");
  EXPECT_RESOURCES_REJECTED(with("/cpu/shares", -5),
                            "linux.resources.cpu.shares: must be an integer from 0 to");
  EXPECT_RESOURCES_REJECTED(with("/devices", json::object()),
                            "linux.resources.devices: must be an array, not an object");
  EXPECT_RESOURCES_REJECTED(with("/blockIO/weight", 70000),
                            "linux.resources.blockIO.weight: must be an integer from 0 to 65535");
  EXPECT_RESOURCES_REJECTED(with("/pids/limit", 1.5),
                            "linux.resources.pids.limit: must be an integer from");
  EXPECT_RESOURCES_REJECTED(with("/unified/memory.max", 5),
                            "linux.resources.unified[\"memory.max\"]: must be a string, not an "
                            "integer");
}

TEST(ResourcesParse, RejectsBadDevices) {
  EXPECT_RESOURCES_REJECTED(with("/devices/0", {{"access", "rwm"}}),
                            "linux.resources.devices[0].allow: is required");
  EXPECT_RESOURCES_REJECTED(with("/devices/0/allow", "yes"),
                            "linux.resources.devices[0].allow: must be a boolean, not a string");
  EXPECT_RESOURCES_REJECTED(
      with("/devices/1/type", "u"),
      "linux.resources.devices[1].type: unknown device type \"u\" (expected a, c or b)");
  EXPECT_RESOURCES_REJECTED(with("/devices/1/type", "cc"),
                            "linux.resources.devices[1].type: unknown device type \"cc\"");
  EXPECT_RESOURCES_REJECTED(with("/devices/1/major", -1),
                            "linux.resources.devices[1].major: must be at least 0");
  EXPECT_RESOURCES_REJECTED(with("/devices/2/minor", -3),
                            "linux.resources.devices[2].minor: must be at least 0");
  EXPECT_RESOURCES_REJECTED(
      with("/devices/1/access", "rwx"),
      "linux.resources.devices[1].access: invalid access \"rwx\" (expected a combination of r, "
      "w and m)");
  EXPECT_RESOURCES_REJECTED(with("/devices/1/access", ""),
                            "linux.resources.devices[1].access: invalid access \"\"");
  EXPECT_RESOURCES_REJECTED(with("/devices/1/access", "rr"),
                            "linux.resources.devices[1].access: invalid access \"rr\"");
}

TEST(ResourcesParse, RejectsBadMemory) {
  const char* limit =
      "linux.resources.memory.limit: must be -1 (unlimited) or a positive number "
      "of bytes";
  EXPECT_RESOURCES_REJECTED(with("/memory/limit", 0), limit);
  EXPECT_RESOURCES_REJECTED(with("/memory/limit", -2), limit);
  EXPECT_RESOURCES_REJECTED(
      with("/memory/reservation", -2),
      "linux.resources.memory.reservation: must be -1 (unlimited) or a number of bytes");
  EXPECT_RESOURCES_REJECTED(
      with("/memory/swap", -5),
      "linux.resources.memory.swap: must be -1 (unlimited) or a number of bytes");
  EXPECT_RESOURCES_REJECTED(with("/memory/swap", 536870911),
                            "linux.resources.memory.swap: must be at least memory.limit");
  EXPECT_RESOURCES_REJECTED(with("/memory/kernel", -2),
                            "linux.resources.memory.kernel: must be -1 (unlimited)");
  EXPECT_RESOURCES_REJECTED(with("/memory/kernelTCP", -2),
                            "linux.resources.memory.kernelTCP: must be -1 (unlimited)");
  EXPECT_RESOURCES_REJECTED(with("/memory/swappiness", 101),
                            "linux.resources.memory.swappiness: must be from 0 to 100");
}

TEST(ResourcesParse, RejectsBadCpu) {
  const char* shares = "linux.resources.cpu.shares: must be from 2 to 262144";
  EXPECT_RESOURCES_REJECTED(with("/cpu/shares", 1), shares);
  EXPECT_RESOURCES_REJECTED(with("/cpu/shares", 262145), shares);
  const char* period = "linux.resources.cpu.period: must be from 1000 to 1000000";
  EXPECT_RESOURCES_REJECTED(with("/cpu/period", 999), period);
  EXPECT_RESOURCES_REJECTED(with("/cpu/period", 1000001), period);
  const char* quota = "linux.resources.cpu.quota: must be -1 (unlimited) or at least 1000";
  EXPECT_RESOURCES_REJECTED(with("/cpu/quota", 999), quota);
  EXPECT_RESOURCES_REJECTED(with("/cpu/quota", -2), quota);
  EXPECT_RESOURCES_REJECTED(with("/cpu/burst", 1000001),
                            "linux.resources.cpu.burst: must not exceed cpu.quota");
  EXPECT_RESOURCES_REJECTED(
      with("/cpu/realtimeRuntime", -2),
      "linux.resources.cpu.realtimeRuntime: must be -1 (unlimited) or a number of microseconds");
  EXPECT_RESOURCES_REJECTED(with("/cpu/idle", 2), "linux.resources.cpu.idle: must be 0 or 1");
  EXPECT_RESOURCES_REJECTED(with("/cpu/idle", -1), "linux.resources.cpu.idle: must be 0 or 1");
  for (const char* list :
       {"0-3,x", "3-1", "1,,2", "1-", "-1", "0-3,", ",0", "1-2-3", " 1", "0x1"}) {
    SCOPED_TRACE(list);
    EXPECT_RESOURCES_REJECTED(with("/cpu/cpus", list), std::string("linux.resources.cpu.cpus: "
                                                                   "invalid cpuset list \"") +
                                                           list + "\"");
  }
  EXPECT_RESOURCES_REJECTED(with("/cpu/mems", "a"),
                            "linux.resources.cpu.mems: invalid cpuset list \"a\"");
}

TEST(ResourcesParse, RejectsBadBlockIo) {
  const char* range = ": must be from 10 to 1000";
  EXPECT_RESOURCES_REJECTED(with("/blockIO/weight", 9),
                            std::string("linux.resources.blockIO.weight") + range);
  EXPECT_RESOURCES_REJECTED(with("/blockIO/weight", 1001),
                            std::string("linux.resources.blockIO.weight") + range);
  EXPECT_RESOURCES_REJECTED(with("/blockIO/leafWeight", 5),
                            std::string("linux.resources.blockIO.leafWeight") + range);
  EXPECT_RESOURCES_REJECTED(with("/blockIO/weightDevice/1", {{"major", 8}, {"minor", 0}}),
                            "linux.resources.blockIO.weightDevice[1]: must set weight or "
                            "leafWeight");
  EXPECT_RESOURCES_REJECTED(with("/blockIO/weightDevice/0/weight", 2000),
                            std::string("linux.resources.blockIO.weightDevice[0].weight") + range);
  EXPECT_RESOURCES_REJECTED(
      with("/blockIO/weightDevice/0/leafWeight", 0),
      std::string("linux.resources.blockIO.weightDevice[0].leafWeight") + range);
  EXPECT_RESOURCES_REJECTED(with("/blockIO/weightDevice/0", {{"major", 8}, {"weight", 100}}),
                            "linux.resources.blockIO.weightDevice[0].minor: is required");
  EXPECT_RESOURCES_REJECTED(with("/blockIO/weightDevice/0/major", -1),
                            "linux.resources.blockIO.weightDevice[0].major: must be at least 0");
  EXPECT_RESOURCES_REJECTED(
      with("/blockIO/throttleWriteIOPSDevice/0/major", -1),
      "linux.resources.blockIO.throttleWriteIOPSDevice[0].major: must be at least 0");
  EXPECT_RESOURCES_REJECTED(with("/blockIO/throttleReadBpsDevice/0", {{"major", 8}, {"minor", 0}}),
                            "linux.resources.blockIO.throttleReadBpsDevice[0].rate: is required");
  EXPECT_RESOURCES_REJECTED(
      with("/blockIO/throttleWriteBpsDevice/0/rate", -1),
      "linux.resources.blockIO.throttleWriteBpsDevice[0].rate: must be an integer from 0 to");
  EXPECT_RESOURCES_REJECTED(
      with("/blockIO/throttleReadIOPSDevice/0/minor", "1"),
      "linux.resources.blockIO.throttleReadIOPSDevice[0].minor: must be an integer from");
}

TEST(ResourcesParse, RejectsBadHugepageLimits) {
  for (const char* size : {"2M", "02MB", "MB", "2mb", "2 MB", "1TB", "x2MB", ""}) {
    SCOPED_TRACE(size);
    EXPECT_RESOURCES_REJECTED(with("/hugepageLimits/1/pageSize", size),
                              std::string("linux.resources.hugepageLimits[1].pageSize: invalid "
                                          "page size \"") +
                                  size + "\" (expected a size like \"2MB\")");
  }
  EXPECT_RESOURCES_REJECTED(with("/hugepageLimits/0", {{"pageSize", "2MB"}}),
                            "linux.resources.hugepageLimits[0].limit: is required");
  EXPECT_RESOURCES_REJECTED(with("/hugepageLimits/0", {{"limit", 1}}),
                            "linux.resources.hugepageLimits[0].pageSize: is required");
}

TEST(ResourcesParse, RejectsBadUnifiedKeys) {
  EXPECT_RESOURCES_REJECTED(with("/unified", {{"a/b", "1"}}),
                            "linux.resources.unified[\"a/b\"]: invalid cgroup file name");
  EXPECT_RESOURCES_REJECTED(with("/unified", {{"..", "1"}}),
                            "linux.resources.unified[\"..\"]: invalid cgroup file name");
  EXPECT_RESOURCES_REJECTED(with("/unified", {{".", "1"}}),
                            "linux.resources.unified[\".\"]: invalid cgroup file name");
  EXPECT_RESOURCES_REJECTED(with("/unified", {{"", "1"}}),
                            "linux.resources.unified[\"\"]: invalid cgroup file name");
  EXPECT_RESOURCES_REJECTED(with("/unified", {{"../../etc/passwd", "1"}}),
                            "linux.resources.unified[\"../../etc/passwd\"]: invalid cgroup file "
                            "name");
}

// --- validate_resources on typed values ---------------------------------------------------

TEST(ResourcesValidate, TypedRules) {
  EXPECT_EQ(validate_error(full_typed()), "<accepted>");
  EXPECT_EQ(validate_error(Resources{}), "<accepted>");

  Resources r;
  r.devices = {DeviceRule{true, 'x', -1, -1, "rwm"}};
  EXPECT_EQ(validate_error(r),
            "linux.resources.devices[0].type: unknown device type \"x\" (expected a, c or b)");
  r.devices = {DeviceRule{true, 'c', -2, -1, "rwm"}};
  EXPECT_EQ(validate_error(r), "linux.resources.devices[0].major: must be at least 0");

  // Zero is "unset" for shares, period, quota and weights when they come typed.
  Resources zeros;
  zeros.cpu.emplace();
  zeros.cpu->shares = 0;
  zeros.cpu->period = 0;
  zeros.cpu->quota = 0;
  zeros.block_io.emplace();
  zeros.block_io->weight = 0;
  EXPECT_EQ(validate_error(zeros), "<accepted>");

  Resources swap;
  swap.memory.emplace();
  swap.memory->limit = 1 << 20;
  swap.memory->swap = 0;
  EXPECT_EQ(validate_error(swap), "linux.resources.memory.swap: must be at least memory.limit");
  swap.memory->limit = -1;
  EXPECT_EQ(validate_error(swap), "<accepted>");

  Resources unified;
  unified.unified = {{"x/y", "1"}};
  EXPECT_EQ(validate_error(unified), "linux.resources.unified[\"x/y\"]: invalid cgroup file name");
}

TEST(ResourcesValidate, CpusetLists) {
  for (const char* ok : {"", "0", "7", "0-3", "0-3,5", "0-0", "1,3,5-7,9", "0-1023"}) {
    EXPECT_TRUE(valid_cpuset_list(ok)) << ok;
  }
  for (const char* bad : {",", "a", "3-1", "1,,2", "1-", "-1", "0-3,", "1-2-3", "1 ", "+1",
                          "99999999999999999999999"}) {
    EXPECT_FALSE(valid_cpuset_list(bad)) << bad;
  }
}

// --- to JSON and back ---------------------------------------------------------------------

TEST(ResourcesJson, RoundTripTyped) {
  Resources x = full_typed();
  json j = resources_to_json(x);
  EXPECT_EQ(parse_resources(j), x) << j.dump(2);
}

TEST(ResourcesJson, RoundTripParsed) {
  Resources x = parse_resources(full_resources());
  EXPECT_EQ(parse_resources(resources_to_json(x)), x);
  // The same document, less what hanok does not keep (network, rdma) and with defaults filled.
  json expected = full_resources();
  expected.erase("network");
  expected.erase("rdma");
  expected["devices"][0]["type"] = "a";
  expected["devices"][3]["access"] = "rwm";
  EXPECT_EQ(resources_to_json(x), expected);
}

TEST(ResourcesJson, UsesOciNames) {
  json j = resources_to_json(full_typed());
  EXPECT_EQ(j["devices"][0], (json{{"allow", false}, {"type", "a"}, {"access", "rwm"}}));
  EXPECT_EQ(j["devices"][2], (json{{"allow", true}, {"type", "b"}, {"major", 8}, {"access", "m"}}));
  EXPECT_EQ(j["memory"]["kernelTCP"], 4096);
  EXPECT_EQ(j["memory"]["disableOOMKiller"], true);
  EXPECT_EQ(j["memory"]["checkBeforeUpdate"], false);
  EXPECT_EQ(j["cpu"]["realtimeRuntime"], -1);
  EXPECT_EQ(j["cpu"]["realtimePeriod"], 1000000);
  EXPECT_EQ(j["pids"], (json{{"limit", -1}}));
  EXPECT_EQ(j["blockIO"]["leafWeight"], 10);
  EXPECT_EQ(j["blockIO"]["weightDevice"][0],
            (json{{"major", 8}, {"minor", 0}, {"leafWeight", 100}}));
  EXPECT_EQ(j["blockIO"]["throttleWriteBpsDevice"][1],
            (json{{"major", 8}, {"minor", 16}, {"rate", 3}}));
  EXPECT_TRUE(j["blockIO"].contains("throttleReadIOPSDevice"));
  EXPECT_TRUE(j["blockIO"].contains("throttleWriteIOPSDevice"));
  EXPECT_EQ(j["hugepageLimits"][0], (json{{"pageSize", "1GB"}, {"limit", 1ULL << 32}}));
  EXPECT_EQ(j["unified"]["memory.high"], "max");
}

TEST(ResourcesJson, LeavesOutUnsetFields) {
  EXPECT_EQ(resources_to_json(Resources{}), json::object());
  Resources r;
  r.memory.emplace();
  r.memory->limit = 4096;
  r.cpu.emplace();
  EXPECT_EQ(resources_to_json(r), (json{{"memory", {{"limit", 4096}}}, {"cpu", json::object()}}));
}

// --- merging ------------------------------------------------------------------------------

TEST(ResourcesMerge, EmptyUpdateKeepsBase) {
  EXPECT_EQ(merge_resources(full_typed(), Resources{}), full_typed());
  EXPECT_EQ(merge_resources(Resources{}, full_typed()), full_typed());
}

TEST(ResourcesMerge, SetFieldsReplaceOneByOne) {
  Resources update;
  update.memory.emplace();
  update.memory->limit = 2LL << 30;
  update.cpu.emplace();
  update.cpu->quota = 50000;
  update.cpu->mems = "1";
  update.pids_limit = 100;
  update.block_io.emplace();
  update.block_io->weight = 500;
  update.block_io->throttle_read_bps = {ThrottleDevice{8, 0, 99}};

  Resources merged = merge_resources(full_typed(), update);
  Resources expected = full_typed();
  expected.memory->limit = 2LL << 30;
  expected.cpu->quota = 50000;
  expected.cpu->mems = "1";
  expected.pids_limit = 100;
  expected.block_io->weight = 500;
  expected.block_io->throttle_read_bps = {ThrottleDevice{8, 0, 99}};
  EXPECT_EQ(merged, expected);
  EXPECT_EQ(merged.cpu->cpus, "0-3,5");  // empty string in the update: unchanged
  EXPECT_EQ(merged.block_io->throttle_write_bps.size(), 2u);  // empty vector: unchanged
}

TEST(ResourcesMerge, AddsControllersTheBaseLacks) {
  Resources base;
  base.pids_limit = 10;
  Resources update;
  update.cpu.emplace();
  update.cpu->shares = 512;
  Resources merged = merge_resources(base, update);
  ASSERT_TRUE(merged.cpu);
  EXPECT_EQ(merged.cpu->shares, 512u);
  EXPECT_EQ(merged.pids_limit, 10);
  EXPECT_FALSE(merged.memory);
}

TEST(ResourcesMerge, VectorsReplaceAndUnifiedMergesByKey) {
  Resources update;
  update.devices = {DeviceRule{true, 'a', -1, -1, "rwm"}};
  update.hugepage_limits = {HugepageLimit{"2MB", 4096}};
  update.unified = {{"memory.high", "1G"}, {"pids.max", "5"}};
  Resources merged = merge_resources(full_typed(), update);
  EXPECT_EQ(merged.devices, update.devices);
  EXPECT_EQ(merged.hugepage_limits, update.hugepage_limits);
  EXPECT_EQ(merged.unified,
            (std::map<std::string, std::string>{
                {"cpu.weight.nice", "5"}, {"memory.high", "1G"}, {"pids.max", "5"}}));
}

TEST(ResourcesMerge, UnlimitedMemoryWithoutSwapMakesSwapUnlimited) {
  Resources base;
  base.memory.emplace();
  base.memory->limit = 1 << 30;
  base.memory->swap = 2LL << 30;

  Resources update;
  update.memory.emplace();
  update.memory->limit = -1;
  EXPECT_EQ(merge_resources(base, update).memory->swap, -1);

  update.memory->swap = 3LL << 30;
  EXPECT_EQ(merge_resources(base, update).memory->swap, 3LL << 30);

  update.memory->limit = 1LL << 31;
  update.memory->swap.reset();
  EXPECT_EQ(merge_resources(base, update).memory->swap, 2LL << 30);
}

}  // namespace
}  // namespace hanok::oci
