// isolate: namespace names and flags, rlimit names and apply_rlimits, default devices, id maps.
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <set>
#include <string>

#include "isolate/devices.hpp"
#include "isolate/error.hpp"
#include "isolate/ids.hpp"
#include "isolate/namespaces.hpp"
#include "isolate/rlimits.hpp"

namespace hanok::isolate {
namespace {

// --- namespaces ---------------------------------------------------------------------------

TEST(Namespaces, OciNamesRoundTrip) {
  std::set<std::string> names;
  for (NamespaceType type : kAllNamespaceTypes) {
    auto parsed = namespace_from_oci_name(oci_name(type));
    ASSERT_TRUE(parsed.has_value()) << oci_name(type);
    EXPECT_EQ(*parsed, type);
    names.insert(oci_name(type));
  }
  EXPECT_EQ(names, (std::set<std::string>{"pid", "network", "mount", "ipc", "uts", "user", "cgroup",
                                          "time"}));
  EXPECT_FALSE(namespace_from_oci_name("net").has_value());
  EXPECT_FALSE(namespace_from_oci_name("mnt").has_value());
  EXPECT_FALSE(namespace_from_oci_name("").has_value());
  EXPECT_FALSE(namespace_from_oci_name("PID").has_value());
}

TEST(Namespaces, ProcNames) {
  EXPECT_STREQ(proc_ns_name(NamespaceType::Pid), "pid");
  EXPECT_STREQ(proc_ns_name(NamespaceType::Network), "net");
  EXPECT_STREQ(proc_ns_name(NamespaceType::Mount), "mnt");
  EXPECT_STREQ(proc_ns_name(NamespaceType::Ipc), "ipc");
  EXPECT_STREQ(proc_ns_name(NamespaceType::Uts), "uts");
  EXPECT_STREQ(proc_ns_name(NamespaceType::User), "user");
  EXPECT_STREQ(proc_ns_name(NamespaceType::Cgroup), "cgroup");
  EXPECT_STREQ(proc_ns_name(NamespaceType::Time), "time");
}

TEST(Namespaces, CloneFlags) {
  EXPECT_EQ(clone_flag(NamespaceType::Pid), static_cast<unsigned long>(CLONE_NEWPID));
  EXPECT_EQ(clone_flag(NamespaceType::Network), static_cast<unsigned long>(CLONE_NEWNET));
  EXPECT_EQ(clone_flag(NamespaceType::Mount), static_cast<unsigned long>(CLONE_NEWNS));
  EXPECT_EQ(clone_flag(NamespaceType::Ipc), static_cast<unsigned long>(CLONE_NEWIPC));
  EXPECT_EQ(clone_flag(NamespaceType::Uts), static_cast<unsigned long>(CLONE_NEWUTS));
  EXPECT_EQ(clone_flag(NamespaceType::User), static_cast<unsigned long>(CLONE_NEWUSER));
  EXPECT_EQ(clone_flag(NamespaceType::Cgroup), 0x02000000ul);
  EXPECT_EQ(clone_flag(NamespaceType::Time), 0x00000080ul);
}

// --- rlimits ------------------------------------------------------------------------------

TEST(Rlimits, Names) {
  struct Case {
    const char* name;
    int resource;
  };
  for (const Case& c :
       {Case{"RLIMIT_AS", RLIMIT_AS}, Case{"RLIMIT_CORE", RLIMIT_CORE},
        Case{"RLIMIT_CPU", RLIMIT_CPU}, Case{"RLIMIT_DATA", RLIMIT_DATA},
        Case{"RLIMIT_FSIZE", RLIMIT_FSIZE}, Case{"RLIMIT_LOCKS", RLIMIT_LOCKS},
        Case{"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK}, Case{"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
        Case{"RLIMIT_NICE", RLIMIT_NICE}, Case{"RLIMIT_NOFILE", RLIMIT_NOFILE},
        Case{"RLIMIT_NPROC", RLIMIT_NPROC}, Case{"RLIMIT_RSS", RLIMIT_RSS},
        Case{"RLIMIT_RTPRIO", RLIMIT_RTPRIO}, Case{"RLIMIT_RTTIME", RLIMIT_RTTIME},
        Case{"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING}, Case{"RLIMIT_STACK", RLIMIT_STACK}}) {
    EXPECT_EQ(rlimit_from_name(c.name), c.resource) << c.name;
  }
  EXPECT_FALSE(rlimit_from_name("RLIMIT_FOO").has_value());
  EXPECT_FALSE(rlimit_from_name("nofile").has_value());
  EXPECT_FALSE(rlimit_from_name("").has_value());
}

// Runs `body` in a forked child (apply_rlimits changes the calling process) and returns its
// exit code, or -1 if it did not exit normally.
template <typename Body>
int in_child(Body body) {
  pid_t pid = ::fork();
  if (pid == 0) {
    int code = 99;
    try {
      code = body();
    } catch (...) {
      code = 98;
    }
    ::_exit(code);
  }
  int status = 0;
  if (pid < 0 || ::waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

TEST(Rlimits, ApplyLowersLimits) {
  int code = in_child([] {
    apply_rlimits({{RLIMIT_CORE, 0, 0}, {RLIMIT_NOFILE, 64, 128}}, nullptr);
    rlimit core{}, nofile{};
    ::getrlimit(RLIMIT_CORE, &core);
    ::getrlimit(RLIMIT_NOFILE, &nofile);
    return (core.rlim_cur == 0 && core.rlim_max == 0 && nofile.rlim_cur == 64 &&
            nofile.rlim_max == 128)
               ? 0
               : 1;
  });
  EXPECT_EQ(code, 0);
}

TEST(Rlimits, ApplyThrowsOnInvalidLimit) {
  int code = in_child([] {
    try {
      apply_rlimits({{RLIMIT_NOFILE, 100, 10}}, nullptr);  // soft > hard: EINVAL
    } catch (const SysError& e) {
      return (e.error_code() == EINVAL &&
              std::string(e.what()).starts_with("setrlimit RLIMIT_NOFILE: "))
                 ? 0
                 : 2;
    }
    return 1;
  });
  EXPECT_EQ(code, 0);
}

const char* g_warning = nullptr;
void remember_warning(const char* message) {
  g_warning = message ? "warned" : nullptr;
}

TEST(Rlimits, HardLimitAboveCurrentIsClampedWithoutPrivilege) {
  int code = in_child([] {
    // Lower the hard limit first, then drop privileges so it cannot be raised again.
    apply_rlimits({{RLIMIT_NOFILE, 32, 64}}, nullptr);
    if (::geteuid() == 0 && ::setresuid(65534, 65534, 65534) != 0) return 3;
    apply_rlimits({{RLIMIT_NOFILE, 100, 1000}}, remember_warning);
    rlimit nofile{};
    ::getrlimit(RLIMIT_NOFILE, &nofile);
    if (nofile.rlim_max != 64 || nofile.rlim_cur != 64) return 1;
    if (g_warning == nullptr) return 2;
    // A null warn callback is allowed.
    apply_rlimits({{RLIMIT_NOFILE, 10, 1000}}, nullptr);
    ::getrlimit(RLIMIT_NOFILE, &nofile);
    return (nofile.rlim_max == 64 && nofile.rlim_cur == 10) ? 0 : 4;
  });
  EXPECT_EQ(code, 0);
}

// --- devices ------------------------------------------------------------------------------

TEST(Devices, DefaultDevices) {
  const auto& devices = default_devices();
  ASSERT_EQ(devices.size(), 6u);
  struct Want {
    const char* path;
    int64_t major;
    int64_t minor;
  };
  const Want want[] = {{"/dev/null", 1, 3},   {"/dev/zero", 1, 5},    {"/dev/full", 1, 7},
                       {"/dev/random", 1, 8}, {"/dev/urandom", 1, 9}, {"/dev/tty", 5, 0}};
  for (std::size_t i = 0; i < 6; ++i) {
    EXPECT_EQ(devices[i].path, want[i].path);
    EXPECT_EQ(devices[i].type, 'c') << want[i].path;
    EXPECT_EQ(devices[i].major, want[i].major) << want[i].path;
    EXPECT_EQ(devices[i].minor, want[i].minor) << want[i].path;
    EXPECT_EQ(devices[i].file_mode, 0666u) << want[i].path;
    EXPECT_EQ(devices[i].uid, 0u) << want[i].path;
    EXPECT_EQ(devices[i].gid, 0u) << want[i].path;
  }
}

// --- id maps ------------------------------------------------------------------------------

TEST(IdMaps, Format) {
  EXPECT_EQ(format_id_map({}), "");
  EXPECT_EQ(format_id_map({{0, 1000, 1}}), "0 1000 1\n");
  EXPECT_EQ(format_id_map({{0, 100000, 65536}, {65536, 4294967294u, 1}}),
            "0 100000 65536\n65536 4294967294 1\n");
}

TEST(IdMaps, WriteFailureNamesThePath) {
  const pid_t missing = 2147483647;  // above any pid_max
  try {
    write_id_maps(missing, {{0, 0, 1}}, {{0, 0, 1}}, true);
    FAIL() << "write_id_maps succeeded for a missing process";
  } catch (const SysError& e) {
    EXPECT_NE(std::string(e.what()).find("/proc/2147483647/uid_map"), std::string::npos)
        << e.what();
    EXPECT_EQ(e.error_code(), ENOENT);
  }
}

TEST(IdMaps, SetgroupsWrittenBeforeGidMap) {
  const pid_t missing = 2147483647;
  try {
    write_id_maps(missing, {}, {{0, 0, 1}}, true);
    FAIL() << "write_id_maps succeeded for a missing process";
  } catch (const SysError& e) {
    EXPECT_NE(std::string(e.what()).find("/proc/2147483647/setgroups"), std::string::npos)
        << e.what();
  }
  try {
    write_id_maps(missing, {}, {{0, 0, 1}}, false);
    FAIL() << "write_id_maps succeeded for a missing process";
  } catch (const SysError& e) {
    EXPECT_NE(std::string(e.what()).find("/proc/2147483647/gid_map"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace hanok::isolate
