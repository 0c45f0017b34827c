// A test that cannot run here (not root, a tool missing) is skipped on a developer's machine but
// fails where every test must run: CI sets HANOK_REQUIRE_ALL_TESTS=1 (scripts/test.sh as root).
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>

namespace hanok::test {

inline bool all_tests_required() {
  const char* value = std::getenv("HANOK_REQUIRE_ALL_TESTS");
  return value != nullptr && *value != '\0' && std::strcmp(value, "0") != 0;
}

}  // namespace hanok::test

// Skips the test (or fails it, where every test must run) unless `condition` holds.
#define HANOK_REQUIRE(condition, why)                                                 \
  do {                                                                                \
    if (!(condition)) {                                                               \
      if (::hanok::test::all_tests_required()) GTEST_FAIL() << "cannot run: " << why; \
      GTEST_SKIP() << why;                                                            \
    }                                                                                 \
  } while (0)
