// The main of both test binaries. Two jobs beyond gtest's own main:
//
// 1. Where every test must run (HANOK_REQUIRE_ALL_TESTS=1, set by scripts/test.sh as root and
//    passed into the cgroup v2 VM), a skipped test fails: plain GTEST_SKIP included.
// 2. Tests that need a host this one is not (a pure cgroup v2 hierarchy, cgroup v1 controllers,
//    the VM's kernel where CRIU runs) are not listed here at all: they run in the leg where
//    their precondition holds (test/vm/run-vm-suite.sh names them), instead of skipping.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "isolate/cgroup.hpp"
#include "require.hpp"

namespace {

bool in_vm_leg() {
  const char* leg = std::getenv("HANOK_TEST_LEG");
  return leg != nullptr && std::string(leg) == "vm";
}

// Patterns of tests this host cannot hold, each with the leg that runs them.
std::vector<std::string> tests_for_other_legs() {
  std::vector<std::string> out;
  // The live cgroup v2 tests drive the root of a pure v2 hierarchy, the live v1 tests the v1
  // controllers' own hierarchies.
  out.emplace_back(hanok::isolate::cgroup::detect_mode() == hanok::isolate::cgroup::Mode::Unified
                       ? "LiveV1.*"
                       : "CgroupV2Live.*");
  // CRIU needs the kernel it was built against: the VM's Debian kernel has it, a newer host's
  // may not (this one's 6.18 does not); the VM leg always runs this test.
  if (!in_vm_leg()) {
    out.emplace_back("CriCheckpoint.PodRestored*");
    out.emplace_back("CliCheckpoint.*");
  }
  return out;
}

void exclude(const std::vector<std::string>& patterns) {
  if (patterns.empty()) return;
  std::string filter = GTEST_FLAG_GET(filter);
  std::string joined;
  for (const auto& pattern : patterns) joined += (joined.empty() ? "" : ":") + pattern;
  filter += (filter.find('-') == std::string::npos ? "-" : ":") + joined;
  GTEST_FLAG_SET(filter, filter);
}

// A skip, where every test must run, becomes the test's failure. gtest calls the listeners'
// OnTestEnd in reverse order, so this one runs before the result printer: the test prints as
// FAILED and no "[  SKIPPED ]" line reaches CTest, which would count it as a skip.
class SkipsFailWhereRequired : public ::testing::EmptyTestEventListener {
 public:
  explicit SkipsFailWhereRequired(bool required) : required_(required) {}
  void OnTestEnd(const ::testing::TestInfo& info) override {
    if (required_ && info.result()->Skipped()) {
      ADD_FAILURE() << "skipped, but HANOK_REQUIRE_ALL_TESTS is set: every test must run here";
    }
  }

 private:
  bool required_;
};

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  exclude(tests_for_other_legs());
  const bool required = hanok::test::all_tests_required();
  ::testing::UnitTest::GetInstance()->listeners().Append(new SkipsFailWhereRequired(required));
  int rc = RUN_ALL_TESTS();
  int skipped = ::testing::UnitTest::GetInstance()->skipped_test_count();
  if (required && skipped > 0) {
    std::printf("HANOK_REQUIRE_ALL_TESTS is set and %d test(s) skipped: every test must run here\n",
                skipped);
    return 1;
  }
  return rc;
}
