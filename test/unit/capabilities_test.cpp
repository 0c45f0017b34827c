#include "isolate/capabilities.hpp"
#include "../common/require.hpp"

#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <functional>
#include <map>
#include <string>

namespace hanok::isolate {
namespace {

constexpr int kChildFailed = 250;

struct ChildResult {
  int code = -1;
  std::string output;
};

// Runs `body` in a forked child; what it returns in `out` comes back through a pipe.
ChildResult run_in_child(const std::function<int(std::string& out)>& body) {
  ChildResult result;
  int fds[2];
  if (::pipe(fds) != 0) return result;
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return result;
  }
  if (pid == 0) {
    ::close(fds[0]);
    int code = kChildFailed;
    std::string out;
    try {
      code = body(out);
    } catch (const std::exception& e) {
      out = std::string("exception: ") + e.what();
    } catch (...) {
      out = "unknown exception";
    }
    size_t done = 0;
    while (done < out.size()) {
      const ssize_t n = ::write(fds[1], out.data() + done, out.size() - done);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    ::_exit(code);
  }
  ::close(fds[1]);
  char buf[512];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
    if (n > 0) result.output.append(buf, static_cast<size_t>(n));
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return result;
  }
  result.code = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  return result;
}

// The Cap* lines of /proc/self/status: "CapEff" -> "0000000000000021".
std::map<std::string, std::string> capability_status() {
  std::map<std::string, std::string> out;
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("Cap", 0) != 0) continue;
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const auto value = line.find_first_not_of(" \t", colon + 1);
    out[line.substr(0, colon)] = value == std::string::npos ? "" : line.substr(value);
  }
  return out;
}

TEST(CapabilityNames, FromName) {
  EXPECT_EQ(capability_from_name("CAP_CHOWN"), 0);
  EXPECT_EQ(capability_from_name("CAP_KILL"), 5);
  EXPECT_EQ(capability_from_name("CAP_SETPCAP"), 8);
  EXPECT_EQ(capability_from_name("CAP_NET_BIND_SERVICE"), 10);
  EXPECT_EQ(capability_from_name("CAP_SYS_ADMIN"), 21);
  EXPECT_EQ(capability_from_name("CAP_AUDIT_READ"), 37);
  EXPECT_EQ(capability_from_name("CAP_NOT_A_CAPABILITY"), std::nullopt);
  EXPECT_EQ(capability_from_name("CHOWN"), std::nullopt);
  EXPECT_EQ(capability_from_name("cap_chown"), std::nullopt);
  EXPECT_EQ(capability_from_name("CAP_"), std::nullopt);
  EXPECT_EQ(capability_from_name(""), std::nullopt);
  EXPECT_EQ(capability_from_name("12"), std::nullopt);
  EXPECT_EQ(capability_from_name("CAP_12"), std::nullopt);
  EXPECT_EQ(capability_from_name("CAP_CHOWN "), std::nullopt);
}

TEST(CapabilityNames, ToName) {
  EXPECT_EQ(capability_name(0), "CAP_CHOWN");
  EXPECT_EQ(capability_name(5), "CAP_KILL");
  EXPECT_EQ(capability_name(21), "CAP_SYS_ADMIN");
  EXPECT_EQ(capability_name(-1), "");
  EXPECT_EQ(capability_name(1000), "");
}

TEST(CapabilityNames, KnownNamesRoundTrip) {
  const auto names = known_capability_names();
  ASSERT_GE(names.size(), static_cast<size_t>(CAP_LAST_CAP + 1));
  EXPECT_EQ(names.front(), "CAP_CHOWN");
  for (size_t i = 0; i < names.size(); ++i) {
    EXPECT_EQ(names[i].rfind("CAP_", 0), 0u) << names[i];
    EXPECT_EQ(capability_from_name(names[i]), static_cast<int>(i)) << names[i];
    EXPECT_EQ(capability_name(static_cast<int>(i)), names[i]);
  }
}

TEST(CapabilityNames, LastSupportedMatchesKernel) {
  std::ifstream in("/proc/sys/kernel/cap_last_cap");
  int last = -1;
  if (!(in >> last)) GTEST_SKIP() << "no /proc/sys/kernel/cap_last_cap";
  EXPECT_EQ(last_supported_capability(), last);
}

TEST(CapabilityApply, EffectiveAndPermittedAreSetExactly) {
  HANOK_REQUIRE(::geteuid() == 0, "needs root");
  const ChildResult r = run_in_child([](std::string& out) {
    CapabilitySets sets;
    sets.effective = {0, 5};
    sets.permitted = {0, 5};
    sets.bounding = {0, 5};
    apply_capability_sets(sets);
    const auto status = capability_status();
    out = status.at("CapEff") + " " + status.at("CapPrm") + " " + status.at("CapInh") + " " +
          status.at("CapAmb");
    return 0;
  });
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(r.output, "0000000000000021 0000000000000021 0000000000000000 0000000000000000");
}

TEST(CapabilityApply, AmbientIsRaisedAndCapsAboveTheKernelAreSkipped) {
  HANOK_REQUIRE(::geteuid() == 0, "needs root");
  const ChildResult r = run_in_child([](std::string& out) {
    CapabilitySets sets;
    sets.effective = {0, 5, 63};
    sets.permitted = {0, 5, 63};
    sets.inheritable = {5};
    sets.ambient = {5};
    apply_capability_sets(sets);
    const auto status = capability_status();
    out = status.at("CapEff") + " " + status.at("CapInh") + " " + status.at("CapAmb");
    return 0;
  });
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(r.output, "0000000000000021 0000000000000020 0000000000000020");
}

TEST(CapabilityApply, AmbientOutsideInheritableIsSkipped) {
  HANOK_REQUIRE(::geteuid() == 0, "needs root");
  const ChildResult r = run_in_child([](std::string& out) {
    CapabilitySets sets;
    sets.effective = {5};
    sets.permitted = {5};
    sets.ambient = {5};  // Not inheritable: the kernel refuses with EPERM; runc goes on.
    apply_capability_sets(sets);
    out = capability_status().at("CapAmb");
    return 0;
  });
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(r.output, "0000000000000000");
}

TEST(CapabilityApply, BoundingSetKeepsOnlyTheListed) {
  HANOK_REQUIRE(::geteuid() == 0, "needs root");
  const ChildResult r = run_in_child([](std::string& out) {
    const auto before = capability_status();
    if (before.at("CapBnd") == "0000000000000000") {
      out = "empty bounding set";
      return 3;
    }
    CapabilitySets sets;
    sets.bounding = {0, 5, 8};
    drop_bounding_set(sets);
    out = capability_status().at("CapBnd");
    return 0;
  });
  if (r.code == 3) GTEST_SKIP() << r.output;
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(r.output, "0000000000000121");
}

}  // namespace
}  // namespace hanok::isolate
