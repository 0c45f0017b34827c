// cgroup v1 device rules: the state a rule list leaves, devices.list read back, and the writes
// between two states (never a moment that denies a device both allow).
#include <gtest/gtest.h>

#include "../../isolate/src/cgroup_v1_devices.hpp"

namespace hanok::isolate::cgroup::v1 {
namespace {

std::vector<DeviceRule> runc_like(std::vector<DeviceRule> extra) {
  std::vector<DeviceRule> rules = {{false, 'a', -1, -1, "rwm"},
                                   {true, 'c', -1, -1, "m"},
                                   {true, 'c', 1, 3, "rwm"},
                                   {true, 'c', 136, -1, "rwm"}};
  rules.insert(rules.end(), extra.begin(), extra.end());
  return rules;
}

TEST(V1Devices, StateOfRulesFromDenyAll) {
  DeviceState state = device_state_of({{true, 'c', 1, 5, "rwm"},
                                       {true, 'c', 1, 3, "rwm"},
                                       {false, 'c', 1, 3, "w"},
                                       {true, 'b', 8, -1, "r"}});
  EXPECT_FALSE(state.default_allow);
  EXPECT_EQ(state, parse_devices_list("c 1:5 rwm\nc 1:3 rm\nb 8:* r\n"));
  EXPECT_EQ(device_state_of({{true, 'a', -1, -1, "rwm"}}), parse_devices_list("a *:* rwm\n"));
  EXPECT_TRUE(parse_devices_list("").exceptions.empty());
}

TEST(V1Devices, UnchangedRulesWriteNothing) {
  DeviceState state = device_state_of(runc_like({}));
  EXPECT_TRUE(device_transition(state, state).empty());
}

TEST(V1Devices, ChangesAllowBeforeTheyDenyAndNeverResetTheList) {
  DeviceState before = device_state_of(runc_like({{true, 'c', 10, 200, "rwm"}}));
  DeviceState after = device_state_of(runc_like({{true, 'b', 8, 0, "r"}}));
  auto writes = device_transition(before, after);
  ASSERT_EQ(writes.size(), 2u);
  EXPECT_TRUE(writes[0].allow);
  EXPECT_EQ(writes[0].rule, "b 8:0 r");
  EXPECT_FALSE(writes[1].allow);
  EXPECT_EQ(writes[1].rule, "c 10:200 rwm");
}

TEST(V1Devices, PartialAccessChangesOnlyThoseBits) {
  DeviceState before = device_state_of(runc_like({}));
  DeviceState after = device_state_of(runc_like({{false, 'c', 1, 3, "w"}}));
  auto writes = device_transition(before, after);
  ASSERT_EQ(writes.size(), 1u);
  EXPECT_FALSE(writes[0].allow);
  EXPECT_EQ(writes[0].rule, "c 1:3 w");
}

TEST(V1Devices, AnUnknownStartOrANewDefaultResetsFirst) {
  DeviceState target = device_state_of(runc_like({}));
  auto writes = device_transition(std::nullopt, target);
  ASSERT_EQ(writes.size(), 1u + target.exceptions.size());
  EXPECT_FALSE(writes[0].allow);
  EXPECT_EQ(writes[0].rule, "a");
  for (size_t i = 1; i < writes.size(); ++i) EXPECT_TRUE(writes[i].allow);

  DeviceState allow_all = device_state_of({{true, 'a', -1, -1, "rwm"}});
  writes = device_transition(target, allow_all);
  ASSERT_EQ(writes.size(), 1u);
  EXPECT_TRUE(writes[0].allow);
  EXPECT_EQ(writes[0].rule, "a");
}

}  // namespace
}  // namespace hanok::isolate::cgroup::v1
