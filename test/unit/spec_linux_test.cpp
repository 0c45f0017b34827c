// parse_spec and validate_spec: the "linux" section, seccomp, and the cross-field rules.
#include <gtest/gtest.h>

#include <string>

#include "oci/spec.hpp"
#include "spec_test_util.hpp"

namespace hanok::oci {
namespace {

using isolate::NamespaceType;
using isolate::SeccompAction;
using isolate::SeccompOperator;
using nlohmann::json;
using testing::minimal_config;
using testing::parse_error;

json with_linux(json linux) {
  json config = minimal_config();
  config["linux"] = std::move(linux);
  return config;
}

json ns(const char* type, const char* path = nullptr) {
  json entry = {{"type", type}};
  if (path != nullptr) entry["path"] = path;
  return entry;
}

json mapping(uint32_t container_id, uint32_t host_id, uint32_t size) {
  return {{"containerID", container_id}, {"hostID", host_id}, {"size", size}};
}

// --- a full linux section -----------------------------------------------------------------

TEST(SpecLinux, ParsesEverything) {
  json linux = {
      {"namespaces",
       {ns("pid"), ns("network", "/var/run/netns/x"), ns("mount"), ns("ipc"), ns("uts"), ns("user"),
        ns("cgroup"), ns("time")}},
      {"uidMappings", {mapping(0, 100000, 65536)}},
      {"gidMappings", {mapping(0, 200000, 65536), mapping(65536, 5, 1)}},
      {"devices",
       {{{"path", "/dev/fuse"},
         {"type", "c"},
         {"major", 10},
         {"minor", 229},
         {"fileMode", 438},
         {"uid", 0},
         {"gid", 0}},
        {{"path", "/dev/sda"}, {"type", "b"}, {"major", 8}, {"minor", 0}},
        {{"path", "/dev/fifo"}, {"type", "p"}}}},
      {"cgroupsPath", "/kubepods/pod1/c1"},
      {"resources", {{"memory", {{"limit", "not validated here"}}}, {"pids", {{"limit", 10}}}}},
      {"rootfsPropagation", "rslave"},
      {"maskedPaths", {"/proc/kcore"}},
      {"readonlyPaths", {"/proc/sys", "/proc/bus"}},
      {"sysctl",
       {{"net.ipv4.ip_forward", "1"},
        {"kernel.shmmax", "68719476736"},
        {"kernel.msgmax", "8192"},
        {"kernel.sem", "250 32000 100 128"},
        {"fs.mqueue.msg_max", "10"},
        {"kernel.domainname", "example.org"}}},
      {"timeOffsets",
       {{"monotonic", {{"secs", -3600}, {"nanosecs", 500}}}, {"boottime", {{"secs", 86400}}}}},
      {"mountLabel", "system_u:object_r:container_file_t:s0"},
  };
  Spec spec = parse_spec(with_linux(linux).dump());
  const Linux& l = spec.linux;

  ASSERT_EQ(l.namespaces.size(), 8u);
  EXPECT_EQ(l.namespaces[0].type, NamespaceType::Pid);
  EXPECT_EQ(l.namespaces[1].type, NamespaceType::Network);
  EXPECT_EQ(l.namespaces[1].path, "/var/run/netns/x");
  EXPECT_EQ(l.namespaces[7].type, NamespaceType::Time);
  ASSERT_NE(l.find_namespace(NamespaceType::Network), nullptr);
  EXPECT_EQ(l.find_namespace(NamespaceType::Network)->path, "/var/run/netns/x");
  EXPECT_TRUE(l.has_namespace(NamespaceType::Cgroup));

  ASSERT_EQ(l.uid_mappings.size(), 1u);
  EXPECT_EQ(l.uid_mappings[0].host_id, 100000u);
  ASSERT_EQ(l.gid_mappings.size(), 2u);
  EXPECT_EQ(l.gid_mappings[1].container_id, 65536u);
  EXPECT_EQ(l.gid_mappings[1].host_id, 5u);
  EXPECT_EQ(l.gid_mappings[1].size, 1u);

  ASSERT_EQ(l.devices.size(), 3u);
  EXPECT_EQ(l.devices[0].path, "/dev/fuse");
  EXPECT_EQ(l.devices[0].type, 'c');
  EXPECT_EQ(l.devices[0].major, 10);
  EXPECT_EQ(l.devices[0].minor, 229);
  EXPECT_EQ(l.devices[0].file_mode, 0666u);
  EXPECT_EQ(l.devices[0].uid, 0u);
  EXPECT_EQ(l.devices[1].type, 'b');
  EXPECT_FALSE(l.devices[1].file_mode.has_value());
  EXPECT_FALSE(l.devices[1].uid.has_value());
  EXPECT_EQ(l.devices[2].type, 'p');

  EXPECT_EQ(l.cgroups_path, "/kubepods/pod1/c1");
  EXPECT_EQ(l.resources, linux["resources"]);
  EXPECT_EQ(l.rootfs_propagation, "rslave");
  EXPECT_EQ(l.masked_paths, std::vector<std::string>{"/proc/kcore"});
  EXPECT_EQ(l.readonly_paths, (std::vector<std::string>{"/proc/sys", "/proc/bus"}));
  EXPECT_EQ(l.sysctl.size(), 6u);
  EXPECT_EQ(l.sysctl.at("net.ipv4.ip_forward"), "1");
  ASSERT_EQ(l.time_offsets.size(), 2u);
  EXPECT_EQ(l.time_offsets.at("monotonic").secs, -3600);
  EXPECT_EQ(l.time_offsets.at("monotonic").nanosecs, 500u);
  EXPECT_EQ(l.time_offsets.at("boottime").secs, 86400);
  EXPECT_EQ(l.time_offsets.at("boottime").nanosecs, 0u);
  EXPECT_EQ(l.mount_label, "system_u:object_r:container_file_t:s0");
}

TEST(SpecLinux, LinuxMustBeObject) {
  EXPECT_REJECTED(with_linux(json::array()), "linux: must be an object, not an array");
}

// --- namespaces ---------------------------------------------------------------------------

TEST(SpecLinux, NamespaceUnknownType) {
  EXPECT_REJECTED(with_linux({{"namespaces", {ns("pid"), ns("mount"), ns("foo")}}}),
                  "linux.namespaces[2].type: unknown namespace \"foo\"");
  EXPECT_REJECTED(with_linux({{"namespaces", {ns("net")}}}),
                  "linux.namespaces[0].type: unknown namespace \"net\"");
}

TEST(SpecLinux, NamespaceTypeRequired) {
  EXPECT_REJECTED(with_linux({{"namespaces", {ns("pid"), {{"path", "/proc/1/ns/net"}}}}}),
                  "linux.namespaces[1].type: is required");
  EXPECT_REJECTED(with_linux({{"namespaces", {{{"type", 3}}}}}),
                  "linux.namespaces[0].type: must be a string, not an integer");
}

TEST(SpecLinux, NamespaceDuplicate) {
  EXPECT_REJECTED(
      with_linux({{"namespaces", {ns("pid"), ns("ipc"), ns("uts"), ns("pid", "/proc/1/ns/pid")}}}),
      "linux.namespaces[3].type: duplicate namespace \"pid\"");
}

TEST(SpecLinux, NamespacePathMustBeAbsolute) {
  EXPECT_REJECTED(with_linux({{"namespaces", {ns("pid"), ns("network", "netns/x")}}}),
                  "linux.namespaces[1].path: must be an absolute path, not \"netns/x\"");
  EXPECT_REJECTED(with_linux({{"namespaces", {{{"type", "ipc"}, {"path", 1}}}}}),
                  "linux.namespaces[0].path: must be a string");
}

TEST(SpecLinux, EmptyNamespacePathMeansNew) {
  Spec spec = parse_spec(with_linux({{"namespaces", {ns("pid", "")}}}).dump());
  ASSERT_EQ(spec.linux.namespaces.size(), 1u);
  EXPECT_TRUE(spec.linux.namespaces[0].path.empty());
}

// --- user namespace and id mappings -------------------------------------------------------

TEST(SpecLinux, MappingsWithoutUserNamespace) {
  EXPECT_REJECTED(with_linux({{"namespaces", {ns("pid")}}, {"uidMappings", {mapping(0, 1000, 1)}}}),
                  "linux.uidMappings: requires a user namespace");
  EXPECT_REJECTED(with_linux({{"gidMappings", {mapping(0, 1000, 1)}}}),
                  "linux.gidMappings: requires a user namespace");
}

TEST(SpecLinux, NewUserNamespaceNeedsMappings) {
  EXPECT_REJECTED(with_linux({{"namespaces", {ns("user")}}}),
                  "linux.uidMappings: is required when creating a user namespace");
  EXPECT_REJECTED(
      with_linux({{"namespaces", {ns("user")}}, {"uidMappings", {mapping(0, 1000, 1)}}}),
      "linux.gidMappings: is required when creating a user namespace");
  EXPECT_EQ(parse_error(with_linux({{"namespaces", {ns("user")}},
                                    {"uidMappings", {mapping(0, 1000, 1)}},
                                    {"gidMappings", {mapping(0, 1000, 1)}}})),
            "<accepted>");
}

TEST(SpecLinux, JoinedUserNamespaceNeedsNoMappings) {
  EXPECT_EQ(parse_error(with_linux({{"namespaces", {ns("user", "/proc/42/ns/user")}}})),
            "<accepted>");
}

TEST(SpecLinux, MappingFields) {
  EXPECT_REJECTED(with_linux({{"namespaces", {ns("user")}},
                              {"uidMappings", {{{"containerID", 0}, {"size", 1}}}}}),
                  "linux.uidMappings[0].hostID: is required");
  EXPECT_REJECTED(
      with_linux({{"namespaces", {ns("user")}},
                  {"uidMappings", {mapping(0, 1, 1)}},
                  {"gidMappings", {mapping(0, 1, 1), {{"containerID", 0}, {"hostID", 1}}}}}),
      "linux.gidMappings[1].size: is required");
  EXPECT_REJECTED(with_linux({{"uidMappings", "0 1000 1"}}),
                  "linux.uidMappings: must be an array, not a string");
}

// --- devices ------------------------------------------------------------------------------

TEST(SpecLinux, DeviceType) {
  EXPECT_REJECTED(
      with_linux({{"devices", {{{"path", "/dev/x"}, {"type", "x"}, {"major", 1}, {"minor", 1}}}}}),
      "linux.devices[0].type: unknown device type \"x\"");
  EXPECT_REJECTED(
      with_linux({{"devices", {{{"path", "/dev/x"}, {"type", "cc"}, {"major", 1}, {"minor", 1}}}}}),
      "linux.devices[0].type: unknown device type \"cc\"");
  EXPECT_REJECTED(with_linux({{"devices", {{{"path", "/dev/x"}, {"major", 1}, {"minor", 1}}}}}),
                  "linux.devices[0].type: is required");
}

TEST(SpecLinux, DevicePath) {
  EXPECT_REJECTED(with_linux({{"devices", {{{"type", "c"}, {"major", 1}, {"minor", 3}}}}}),
                  "linux.devices[0].path: is required");
  EXPECT_REJECTED(
      with_linux({{"devices",
                   {{{"path", "/dev/null"}, {"type", "c"}, {"major", 1}, {"minor", 3}},
                    {{"path", "dev/zero"}, {"type", "c"}, {"major", 1}, {"minor", 5}}}}}),
      "linux.devices[1].path: must be an absolute path, not \"dev/zero\"");
}

TEST(SpecLinux, DeviceMajorMinorRequiredExceptForFifos) {
  for (const char* type : {"c", "b", "u"}) {
    EXPECT_REJECTED(with_linux({{"devices", {{{"path", "/dev/x"}, {"type", type}, {"minor", 1}}}}}),
                    "linux.devices[0].major: is required")
        << type;
    EXPECT_REJECTED(with_linux({{"devices", {{{"path", "/dev/x"}, {"type", type}, {"major", 1}}}}}),
                    "linux.devices[0].minor: is required")
        << type;
  }
  EXPECT_EQ(parse_error(with_linux({{"devices", {{{"path", "/dev/p"}, {"type", "p"}}}}})),
            "<accepted>");
}

TEST(SpecLinux, DeviceNumericFields) {
  json dev = {{"path", "/dev/x"}, {"type", "c"}, {"major", 1}, {"minor", 1}};
  dev["fileMode"] = -1;
  EXPECT_REJECTED(with_linux({{"devices", {dev}}}),
                  "linux.devices[0].fileMode: must be an integer");
  dev["fileMode"] = 0600;
  dev["uid"] = "root";
  EXPECT_REJECTED(with_linux({{"devices", {dev}}}), "linux.devices[0].uid: must be an integer");
  dev["uid"] = 0;
  dev["gid"] = 1.0;
  EXPECT_REJECTED(with_linux({{"devices", {dev}}}), "linux.devices[0].gid: must be an integer");
  dev["gid"] = 0;
  dev["major"] = "1";
  EXPECT_REJECTED(with_linux({{"devices", {dev}}}), "linux.devices[0].major: must be an integer");
}

// --- simple linux fields ------------------------------------------------------------------

TEST(SpecLinux, RootfsPropagation) {
  for (const char* ok : {"", "shared", "slave", "private", "unbindable", "rshared", "rslave",
                         "rprivate", "runbindable"}) {
    EXPECT_EQ(parse_error(with_linux({{"rootfsPropagation", ok}})), "<accepted>") << ok;
  }
  EXPECT_REJECTED(with_linux({{"rootfsPropagation", "foo"}}),
                  "linux.rootfsPropagation: unknown propagation \"foo\"");
  EXPECT_REJECTED(with_linux({{"rootfsPropagation", "ro"}}),
                  "linux.rootfsPropagation: unknown propagation \"ro\"");
}

TEST(SpecLinux, MaskedAndReadonlyPathsAbsolute) {
  EXPECT_REJECTED(with_linux({{"maskedPaths", {"/proc/kcore", "proc/keys"}}}),
                  "linux.maskedPaths[1]: must be an absolute path, not \"proc/keys\"");
  EXPECT_REJECTED(with_linux({{"readonlyPaths", {""}}}),
                  "linux.readonlyPaths[0]: must be an absolute path");
  EXPECT_REJECTED(with_linux({{"readonlyPaths", {1}}}),
                  "linux.readonlyPaths[0]: must be a string, not an integer");
}

TEST(SpecLinux, StringFieldTypes) {
  EXPECT_REJECTED(with_linux({{"cgroupsPath", 1}}), "linux.cgroupsPath: must be a string");
  EXPECT_REJECTED(with_linux({{"mountLabel", true}}), "linux.mountLabel: must be a string");
  EXPECT_REJECTED(with_linux({{"rootfsPropagation", 1}}),
                  "linux.rootfsPropagation: must be a string");
}

TEST(SpecLinux, ResourcesKeptRaw) {
  json resources = {{"anything", {1, 2, 3}}, {"memory", {{"limit", -5}}}};
  Spec spec = parse_spec(with_linux({{"resources", resources}}).dump());
  EXPECT_EQ(spec.linux.resources, resources);
}

// --- sysctl -------------------------------------------------------------------------------

TEST(SpecLinux, SysctlValuesMustBeStrings) {
  EXPECT_REJECTED(
      with_linux({{"namespaces", {ns("network")}}, {"sysctl", {{"net.ipv4.ip_forward", 1}}}}),
      "linux.sysctl.net.ipv4.ip_forward: must be a string, not an integer");
  EXPECT_REJECTED(with_linux({{"sysctl", {"net.ipv4.ip_forward"}}}),
                  "linux.sysctl: must be an object, not an array");
}

TEST(SpecLinux, SysctlNotNamespaced) {
  EXPECT_REJECTED(with_linux({{"namespaces", {ns("network"), ns("ipc"), ns("uts")}},
                              {"sysctl", {{"vm.swappiness", "10"}}}}),
                  "linux.sysctl.vm.swappiness: not namespaced");
  EXPECT_REJECTED(with_linux({{"namespaces", {ns("network"), ns("ipc"), ns("uts")}},
                              {"sysctl", {{"kernel.pid_max", "10"}}}}),
                  "linux.sysctl.kernel.pid_max: not namespaced");
}

TEST(SpecLinux, SysctlNeedsItsNamespace) {
  EXPECT_REJECTED(with_linux({{"namespaces", {ns("ipc"), ns("uts")}},
                              {"sysctl", {{"net.core.somaxconn", "1024"}}}}),
                  "linux.sysctl.net.core.somaxconn: requires a network namespace");
  for (const char* key : {"kernel.shmmax", "kernel.shm_rmid_forced", "kernel.msgmnb", "kernel.sem",
                          "fs.mqueue.queues_max"}) {
    EXPECT_REJECTED(
        with_linux({{"namespaces", {ns("network"), ns("uts")}}, {"sysctl", {{key, "1"}}}}),
        std::string("linux.sysctl.") + key + ": requires an ipc namespace");
    EXPECT_EQ(parse_error(with_linux({{"namespaces", {ns("ipc")}}, {"sysctl", {{key, "1"}}}})),
              "<accepted>")
        << key;
  }
  for (const char* key : {"kernel.hostname", "kernel.domainname"}) {
    EXPECT_REJECTED(with_linux({{"namespaces", {ns("ipc")}}, {"sysctl", {{key, "x"}}}}),
                    std::string("linux.sysctl.") + key + ": requires a uts namespace");
  }
}

TEST(SpecLinux, SysctlJoinedNamespaceCounts) {
  EXPECT_EQ(parse_error(with_linux({{"namespaces", {ns("network", "/var/run/netns/a")}},
                                    {"sysctl", {{"net.ipv4.ip_forward", "1"}}}})),
            "<accepted>");
}

TEST(SpecLinux, SysctlNameWithSlashOrDots) {
  EXPECT_REJECTED(
      with_linux({{"namespaces", {ns("network")}}, {"sysctl", {{"net/ipv4/ip_forward", "1"}}}}),
      "linux.sysctl.net/ipv4/ip_forward: invalid sysctl name");
  EXPECT_REJECTED(with_linux({{"namespaces", {ns("network")}}, {"sysctl", {{"net..x", "1"}}}}),
                  "linux.sysctl.net..x: invalid sysctl name");
  EXPECT_REJECTED(
      with_linux({{"namespaces", {ns("network")}}, {"sysctl", {{"net.ipv4.conf/../../x", "1"}}}}),
      "linux.sysctl.net.ipv4.conf/../../x: invalid sysctl name");
}

// --- hostname / domainname need uts -------------------------------------------------------

TEST(SpecLinux, HostnameNeedsUtsNamespace) {
  json config = minimal_config();
  config["hostname"] = "box";
  EXPECT_REJECTED(config, "hostname: requires a uts namespace");
  config["linux"] = {{"namespaces", {ns("pid")}}};
  EXPECT_REJECTED(config, "hostname: requires a uts namespace");
  config["linux"] = {{"namespaces", {ns("uts", "/run/hanok/ns/uts-pod")}}};
  EXPECT_EQ(parse_error(config), "<accepted>");
}

TEST(SpecLinux, DomainnameNeedsUtsNamespace) {
  json config = minimal_config();
  config["domainname"] = "example.org";
  EXPECT_REJECTED(config, "domainname: requires a uts namespace");
  config["linux"] = {{"namespaces", {ns("uts")}}};
  EXPECT_EQ(parse_error(config), "<accepted>");
}

// --- time offsets -------------------------------------------------------------------------

TEST(SpecLinux, TimeOffsetsNeedNewTimeNamespace) {
  json offsets = {{"monotonic", {{"secs", 10}}}};
  EXPECT_REJECTED(with_linux({{"timeOffsets", offsets}}),
                  "linux.timeOffsets: requires a new time namespace");
  EXPECT_REJECTED(
      with_linux({{"namespaces", {ns("time", "/proc/1/ns/time")}}, {"timeOffsets", offsets}}),
      "linux.timeOffsets: requires a new time namespace");
  EXPECT_EQ(parse_error(with_linux({{"namespaces", {ns("time")}}, {"timeOffsets", offsets}})),
            "<accepted>");
}

TEST(SpecLinux, TimeOffsetsKnownClocksOnly) {
  EXPECT_REJECTED(
      with_linux({{"namespaces", {ns("time")}}, {"timeOffsets", {{"realtime", {{"secs", 1}}}}}}),
      "linux.timeOffsets.realtime: unknown clock \"realtime\"");
}

TEST(SpecLinux, TimeOffsetFieldTypes) {
  EXPECT_REJECTED(with_linux({{"namespaces", {ns("time")}},
                              {"timeOffsets", {{"boottime", {{"nanosecs", -1}}}}}}),
                  "linux.timeOffsets.boottime.nanosecs: must be an integer from 0 to 4294967295");
  EXPECT_REJECTED(
      with_linux({{"namespaces", {ns("time")}}, {"timeOffsets", {{"monotonic", {{"secs", "1"}}}}}}),
      "linux.timeOffsets.monotonic.secs: must be an integer");
  EXPECT_REJECTED(with_linux({{"namespaces", {ns("time")}}, {"timeOffsets", {{"monotonic", 5}}}}),
                  "linux.timeOffsets.monotonic: must be an object, not an integer");
}

// --- seccomp ------------------------------------------------------------------------------

json with_seccomp(json seccomp) {
  return with_linux({{"seccomp", std::move(seccomp)}});
}

json rule(std::vector<std::string> names, const char* action) {
  return {{"names", names}, {"action", action}};
}

TEST(SpecSeccomp, ParsesProfile) {
  json seccomp = {
      {"defaultAction", "SCMP_ACT_ERRNO"},
      {"defaultErrnoRet", 1},
      {"architectures", {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}},
      {"flags", {"SECCOMP_FILTER_FLAG_LOG"}},
      {"syscalls",
       {rule({"read", "write"}, "SCMP_ACT_ALLOW"),
        {{"names", {"personality"}},
         {"action", "SCMP_ACT_ALLOW"},
         {"args",
          {{{"index", 0}, {"value", 0}, {"op", "SCMP_CMP_EQ"}},
           {{"index", 5},
            {"value", 18446744073709551615u},
            {"valueTwo", 8},
            {"op", "SCMP_CMP_MASKED_EQ"}}}}},
        {{"names", {"mkdir"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 38}}}},
  };
  Spec spec = parse_spec(with_seccomp(seccomp).dump());
  ASSERT_TRUE(spec.linux.seccomp.has_value());
  const isolate::SeccompProfile& p = *spec.linux.seccomp;
  EXPECT_EQ(p.default_action, SeccompAction::Errno);
  EXPECT_EQ(p.default_errno_ret, 1u);
  EXPECT_EQ(p.architectures.size(), 3u);
  EXPECT_EQ(p.flags, std::vector<std::string>{"SECCOMP_FILTER_FLAG_LOG"});
  ASSERT_EQ(p.syscalls.size(), 3u);
  EXPECT_EQ(p.syscalls[0].names, (std::vector<std::string>{"read", "write"}));
  EXPECT_EQ(p.syscalls[0].action, SeccompAction::Allow);
  EXPECT_FALSE(p.syscalls[0].errno_ret.has_value());
  ASSERT_EQ(p.syscalls[1].args.size(), 2u);
  EXPECT_EQ(p.syscalls[1].args[0].op, SeccompOperator::EqualTo);
  EXPECT_EQ(p.syscalls[1].args[1].index, 5u);
  EXPECT_EQ(p.syscalls[1].args[1].value, UINT64_MAX);
  EXPECT_EQ(p.syscalls[1].args[1].value_two, 8u);
  EXPECT_EQ(p.syscalls[1].args[1].op, SeccompOperator::MaskedEqual);
  EXPECT_EQ(p.syscalls[2].action, SeccompAction::Errno);
  EXPECT_EQ(p.syscalls[2].errno_ret, 38u);
}

TEST(SpecSeccomp, DefaultActionRequiredAndKnown) {
  EXPECT_REJECTED(with_seccomp(json::object()), "linux.seccomp.defaultAction: is required");
  EXPECT_REJECTED(with_seccomp({{"defaultAction", "X"}}),
                  "linux.seccomp.defaultAction: unknown action \"X\"");
  EXPECT_REJECTED(with_seccomp({{"defaultAction", "SCMP_ACT_NOTIFY"}}),
                  "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY is not supported yet");
  EXPECT_REJECTED(with_seccomp({{"defaultAction", "SCMP_ACT_ERRNO"}, {"defaultErrnoRet", -1}}),
                  "linux.seccomp.defaultErrnoRet: must be an integer");
}

TEST(SpecSeccomp, ArchitecturesAndFlagsKnown) {
  EXPECT_REJECTED(with_seccomp({{"defaultAction", "SCMP_ACT_ALLOW"},
                                {"architectures", {"SCMP_ARCH_X86_64", "SCMP_ARCH_Z80"}}}),
                  "linux.seccomp.architectures[1]: unknown architecture \"SCMP_ARCH_Z80\"");
  EXPECT_REJECTED(with_seccomp({{"defaultAction", "SCMP_ACT_ALLOW"}, {"flags", {"FLAG_X"}}}),
                  "linux.seccomp.flags[0]: unknown flag \"FLAG_X\"");
}

TEST(SpecSeccomp, RuleActionKnown) {
  EXPECT_REJECTED(
      with_seccomp({{"defaultAction", "SCMP_ACT_ALLOW"},
                    {"syscalls", {rule({"read"}, "SCMP_ACT_ALLOW"), rule({"x"}, "X")}}}),
      "linux.seccomp.syscalls[1].action: unknown action \"X\"");
  EXPECT_REJECTED(
      with_seccomp({{"defaultAction", "SCMP_ACT_ALLOW"}, {"syscalls", {{{"names", {"read"}}}}}}),
      "linux.seccomp.syscalls[0].action: is required");
}

TEST(SpecSeccomp, NotifyIsNotSupportedYet) {
  json seccomp = {
      {"defaultAction", "SCMP_ACT_ALLOW"},
      {"listenerPath", "/run/seccomp-agent.sock"},
      {"syscalls", {rule({"read"}, "SCMP_ACT_ALLOW"), rule({"mount"}, "SCMP_ACT_NOTIFY")}}};
  EXPECT_REJECTED(with_seccomp(seccomp),
                  "linux.seccomp.syscalls[1].action: SCMP_ACT_NOTIFY is not supported yet");
}

TEST(SpecSeccomp, RuleNamesRequiredAndNonEmpty) {
  EXPECT_REJECTED(with_seccomp({{"defaultAction", "SCMP_ACT_ALLOW"},
                                {"syscalls", {{{"action", "SCMP_ACT_ALLOW"}}}}}),
                  "linux.seccomp.syscalls[0].names: is required");
  EXPECT_REJECTED(
      with_seccomp({{"defaultAction", "SCMP_ACT_ALLOW"},
                    {"syscalls", {rule({"read"}, "SCMP_ACT_ALLOW"), rule({}, "SCMP_ACT_ALLOW")}}}),
      "linux.seccomp.syscalls[1].names: must not be empty");
}

TEST(SpecSeccomp, RuleArgs) {
  auto with_arg = [](json arg) {
    return with_seccomp(
        {{"defaultAction", "SCMP_ACT_ALLOW"},
         {"syscalls", {{{"names", {"ioctl"}}, {"action", "SCMP_ACT_ERRNO"}, {"args", {arg}}}}}});
  };
  EXPECT_REJECTED(with_arg({{"index", 6}, {"value", 1}, {"op", "SCMP_CMP_EQ"}}),
                  "linux.seccomp.syscalls[0].args[0].index: must be from 0 to 5, not 6");
  EXPECT_REJECTED(with_arg({{"index", -1}, {"value", 1}, {"op", "SCMP_CMP_EQ"}}),
                  "linux.seccomp.syscalls[0].args[0].index: must be an integer");
  EXPECT_REJECTED(with_arg({{"index", 0}, {"value", 1}, {"op", "SCMP_CMP_FOO"}}),
                  "linux.seccomp.syscalls[0].args[0].op: unknown operator \"SCMP_CMP_FOO\"");
  EXPECT_REJECTED(with_arg({{"index", 0}, {"op", "SCMP_CMP_EQ"}}),
                  "linux.seccomp.syscalls[0].args[0].value: is required");
  EXPECT_REJECTED(with_arg({{"value", 0}, {"op", "SCMP_CMP_EQ"}}),
                  "linux.seccomp.syscalls[0].args[0].index: is required");
  EXPECT_REJECTED(with_arg({{"index", 0}, {"value", 0}}),
                  "linux.seccomp.syscalls[0].args[0].op: is required");
  EXPECT_REJECTED(with_arg({{"index", 0}, {"value", -3}, {"op", "SCMP_CMP_EQ"}}),
                  "linux.seccomp.syscalls[0].args[0].value: must be an integer");
}

TEST(SpecSeccomp, RuleErrnoRetType) {
  EXPECT_REJECTED(
      with_seccomp(
          {{"defaultAction", "SCMP_ACT_ALLOW"},
           {"syscalls",
            {{{"names", {"mkdir"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", "EPERM"}}}}}),
      "linux.seccomp.syscalls[0].errnoRet: must be an integer");
}

// --- validate_spec on a Spec built in code ------------------------------------------------

Spec valid_spec() {
  Spec spec;
  spec.oci_version = "1.0.2";
  spec.root.path = "/rootfs";
  return spec;
}

std::string validate_error(const Spec& spec) {
  try {
    validate_spec(spec);
  } catch (const SpecError& e) {
    return e.what();
  }
  return "<accepted>";
}

TEST(ValidateSpec, AcceptsMinimalSpec) {
  EXPECT_EQ(validate_error(valid_spec()), "<accepted>");
}

TEST(ValidateSpec, ChecksStructBuiltSpecs) {
  Spec spec = valid_spec();
  spec.linux.namespaces = {{NamespaceType::Ipc, ""}, {NamespaceType::Ipc, ""}};
  EXPECT_TRUE(testing::starts_with(validate_error(spec),
                                   "linux.namespaces[1].type: duplicate namespace \"ipc\""));

  spec = valid_spec();
  isolate::DeviceNode dev;
  dev.path = "/dev/x";
  dev.type = 'q';
  spec.linux.devices = {dev};
  EXPECT_TRUE(testing::starts_with(validate_error(spec),
                                   "linux.devices[0].type: unknown device type \"q\""));

  spec = valid_spec();
  spec.linux.time_offsets["realtime"] = {};
  spec.linux.namespaces = {{NamespaceType::Time, ""}};
  EXPECT_TRUE(
      testing::starts_with(validate_error(spec), "linux.timeOffsets.realtime: unknown clock"));

  spec = valid_spec();
  spec.process = Process{};
  EXPECT_TRUE(testing::starts_with(validate_error(spec), "process.args: must not be empty"));
  spec.process->args = {"sh"};
  EXPECT_EQ(validate_error(spec), "<accepted>");

  spec = valid_spec();
  spec.oci_version = "";
  EXPECT_TRUE(testing::starts_with(validate_error(spec), "ociVersion: "));
}

TEST(FindNamespace, ReturnsTheEntryOrNull) {
  Linux linux;
  EXPECT_EQ(linux.find_namespace(NamespaceType::Pid), nullptr);
  EXPECT_FALSE(linux.has_namespace(NamespaceType::Pid));
  linux.namespaces = {{NamespaceType::Pid, ""}, {NamespaceType::Network, "/var/run/netns/n"}};
  ASSERT_NE(linux.find_namespace(NamespaceType::Network), nullptr);
  EXPECT_EQ(linux.find_namespace(NamespaceType::Network)->path, "/var/run/netns/n");
  EXPECT_EQ(linux.find_namespace(NamespaceType::Pid), &linux.namespaces[0]);
  EXPECT_FALSE(linux.has_namespace(NamespaceType::User));
}

}  // namespace
}  // namespace hanok::oci
