// parse_spec: top level, root, process, mounts, hooks, annotations, load_spec and the
// default config. The linux section is in spec_linux_test.cpp.
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "oci/spec.hpp"
#include "spec_test_util.hpp"

namespace hanok::oci {
namespace {

using nlohmann::json;
using testing::config_with_process;
using testing::minimal_config;
using testing::parse_error;

// --- documents and ociVersion -------------------------------------------------------------

TEST(SpecParse, MinimalConfig) {
  Spec spec = parse_spec(minimal_config().dump());
  EXPECT_EQ(spec.oci_version, "1.2.0");
  EXPECT_EQ(spec.root.path, "rootfs");
  EXPECT_FALSE(spec.root.readonly);
  EXPECT_FALSE(spec.process.has_value());
  EXPECT_TRUE(spec.mounts.empty());
  EXPECT_TRUE(spec.linux.namespaces.empty());
  EXPECT_TRUE(spec.linux.resources.is_null());
  EXPECT_FALSE(spec.linux.seccomp.has_value());
}

TEST(SpecParse, SyntaxErrorNamesConfigJson) {
  std::string message = parse_error(std::string("{\"ociVersion\": "));
  EXPECT_TRUE(testing::starts_with(message, "config.json: "));
  EXPECT_NE(message.find("parse error"), std::string::npos) << message;
  EXPECT_EQ(message.find("[json.exception"), std::string::npos) << message;
}

TEST(SpecParse, DocumentMustBeAnObject) {
  EXPECT_REJECTED(json::array(), "config.json: must be an object, not an array");
}

TEST(SpecParse, OciVersionRequired) {
  json config = minimal_config();
  config.erase("ociVersion");
  EXPECT_REJECTED(config, "ociVersion: is required");
  config["ociVersion"] = nullptr;
  EXPECT_REJECTED(config, "ociVersion: is required");
}

TEST(SpecParse, OciVersionMustBeString) {
  json config = minimal_config();
  config["ociVersion"] = 1;
  EXPECT_REJECTED(config, "ociVersion: must be a string, not an integer");
}

TEST(SpecParse, OciVersionAcceptsOneDotX) {
  for (const char* version : {"1.0.0", "1.0.1", "1.0.2-dev", "1.1.0", "1.2.0", "1.0.0-rc5-dev",
                              "1.1.0-rc.1", "1.0.0+build.7", "1.2.0-dev+abc"}) {
    json config = minimal_config();
    config["ociVersion"] = version;
    EXPECT_EQ(parse_error(config), "<accepted>") << version;
  }
}

TEST(SpecParse, OciVersionRejectsGarbage) {
  for (const char* version : {"", "1", "1.0", "1.0.0.0", "v1.0.0", "01.0.0", "1.00.0", "1.0.0-",
                              "1.0.0-01", "1.0.0+", "1.0.0-a..b", "1.0.x", "1.0.0 "}) {
    json config = minimal_config();
    config["ociVersion"] = version;
    EXPECT_REJECTED(config, "ociVersion: " + json(version).dump() + " is not a semantic version")
        << version;
  }
}

TEST(SpecParse, OciVersionRejectsOtherMajors) {
  for (const char* version : {"2.0.0", "0.1.0", "0.6.0-dev"}) {
    json config = minimal_config();
    config["ociVersion"] = version;
    EXPECT_REJECTED(config,
                    std::string("ociVersion: version \"") + version + "\" is not supported");
  }
}

TEST(SpecParse, UnknownFieldsAreIgnored) {
  json config = config_with_process();
  config["somethingNew"] = {{"a", 1}};
  config["process"]["ioPriority"] = {{"class", "IOPRIO_CLASS_IDLE"}};
  config["root"]["future"] = true;
  config["linux"] = {{"intelRdt", {{"closID", "x"}}}, {"personality", {{"domain", "LINUX"}}}};
  EXPECT_EQ(parse_error(config), "<accepted>");
}

TEST(SpecParse, NullMeansAbsent) {
  json config = config_with_process();
  config["hostname"] = nullptr;
  config["mounts"] = nullptr;
  config["hooks"] = {{"prestart", nullptr}};
  config["process"]["env"] = nullptr;
  config["linux"] = nullptr;
  Spec spec = parse_spec(config.dump());
  EXPECT_TRUE(spec.hostname.empty());
  EXPECT_TRUE(spec.mounts.empty());
  EXPECT_TRUE(spec.process->env.empty());
}

// --- root ---------------------------------------------------------------------------------

TEST(SpecParse, RootRequired) {
  json config = minimal_config();
  config.erase("root");
  EXPECT_REJECTED(config, "root: is required");
}

TEST(SpecParse, RootPathRequiredAndNonEmpty) {
  json config = minimal_config();
  config["root"] = json::object();
  EXPECT_REJECTED(config, "root.path: is required");
  config["root"]["path"] = "";
  EXPECT_REJECTED(config, "root.path: must not be empty");
  config["root"]["path"] = 5;
  EXPECT_REJECTED(config, "root.path: must be a string, not an integer");
}

TEST(SpecParse, RootMustBeObjectAndReadonlyBoolean) {
  json config = minimal_config();
  config["root"] = "rootfs";
  EXPECT_REJECTED(config, "root: must be an object, not a string");
  config["root"] = {{"path", "/abs/rootfs"}, {"readonly", "yes"}};
  EXPECT_REJECTED(config, "root.readonly: must be a boolean, not a string");
  config["root"]["readonly"] = true;
  Spec spec = parse_spec(config.dump());
  EXPECT_EQ(spec.root.path, "/abs/rootfs");
  EXPECT_TRUE(spec.root.readonly);
}

// --- hostname, domainname, annotations ----------------------------------------------------

TEST(SpecParse, HostnameAndDomainname) {
  json config = minimal_config();
  config["hostname"] = "box";
  config["domainname"] = "example.org";
  config["linux"] = {{"namespaces", {{{"type", "uts"}}}}};
  Spec spec = parse_spec(config.dump());
  EXPECT_EQ(spec.hostname, "box");
  EXPECT_EQ(spec.domainname, "example.org");
  config["hostname"] = 7;
  EXPECT_REJECTED(config, "hostname: must be a string, not an integer");
  config["hostname"] = "box";
  config["domainname"] = false;
  EXPECT_REJECTED(config, "domainname: must be a string, not a boolean");
}

TEST(SpecParse, Annotations) {
  json config = minimal_config();
  config["annotations"] = {{"org.example.key", "value"}, {"b", ""}};
  Spec spec = parse_spec(config.dump());
  EXPECT_EQ(spec.annotations.at("org.example.key"), "value");
  EXPECT_EQ(spec.annotations.at("b"), "");
  config["annotations"]["org.example.n"] = 3;
  EXPECT_REJECTED(config, "annotations.org.example.n: must be a string, not an integer");
  config["annotations"] = json::array();
  EXPECT_REJECTED(config, "annotations: must be an object, not an array");
}

// --- process ------------------------------------------------------------------------------

TEST(SpecParse, ProcessFields) {
  json config = config_with_process();
  auto& p = config["process"];
  p["terminal"] = true;
  p["consoleSize"] = {{"height", 24}, {"width", 80}};
  p["user"] = {{"uid", 1000},
               {"gid", 100},
               {"umask", 18},
               {"additionalGids", {5, 4294967295u}},
               {"username", "ignored"}};
  p["args"] = {"/bin/echo", "hello", "world"};
  p["env"] = {"PATH=/bin", "EMPTY=", "A=b=c"};
  p["cwd"] = "/work";
  p["noNewPrivileges"] = true;
  p["oomScoreAdj"] = -1000;
  p["apparmorProfile"] = "docker-default";
  p["selinuxLabel"] = "system_u:system_r:container_t:s0";
  p["rlimits"] = {{{"type", "RLIMIT_NOFILE"}, {"soft", 1024}, {"hard", 4096}},
                  {{"type", "RLIMIT_CORE"}, {"soft", 0}, {"hard", 18446744073709551615u}}};
  p["capabilities"] = {{"bounding", {"CAP_CHOWN", "CAP_KILL"}},
                       {"effective", {"CAP_KILL"}},
                       {"permitted", {"CAP_KILL"}},
                       {"inheritable", json::array()},
                       {"ambient", {"CAP_NET_BIND_SERVICE"}}};
  Spec spec = parse_spec(config.dump());
  ASSERT_TRUE(spec.process.has_value());
  const Process& process = *spec.process;
  EXPECT_TRUE(process.terminal);
  ASSERT_TRUE(process.console_size.has_value());
  EXPECT_EQ(process.console_size->height, 24u);
  EXPECT_EQ(process.console_size->width, 80u);
  EXPECT_EQ(process.user.uid, 1000u);
  EXPECT_EQ(process.user.gid, 100u);
  EXPECT_EQ(process.user.umask, 18u);
  EXPECT_EQ(process.user.additional_gids, (std::vector<uint32_t>{5, 4294967295u}));
  EXPECT_EQ(process.args, (std::vector<std::string>{"/bin/echo", "hello", "world"}));
  EXPECT_EQ(process.env, (std::vector<std::string>{"PATH=/bin", "EMPTY=", "A=b=c"}));
  EXPECT_EQ(process.cwd, "/work");
  EXPECT_TRUE(process.no_new_privileges);
  EXPECT_EQ(process.oom_score_adj, -1000);
  EXPECT_EQ(process.apparmor_profile, "docker-default");
  EXPECT_EQ(process.selinux_label, "system_u:system_r:container_t:s0");
  ASSERT_EQ(process.rlimits.size(), 2u);
  EXPECT_EQ(process.rlimits[0].resource, RLIMIT_NOFILE);
  EXPECT_EQ(process.rlimits[0].soft, 1024u);
  EXPECT_EQ(process.rlimits[0].hard, 4096u);
  EXPECT_EQ(process.rlimits[1].resource, RLIMIT_CORE);
  EXPECT_EQ(process.rlimits[1].hard, UINT64_MAX);
  EXPECT_EQ(process.capabilities.bounding, (std::vector<int>{CAP_CHOWN, CAP_KILL}));
  EXPECT_EQ(process.capabilities.effective, (std::vector<int>{CAP_KILL}));
  EXPECT_EQ(process.capabilities.permitted, (std::vector<int>{CAP_KILL}));
  EXPECT_TRUE(process.capabilities.inheritable.empty());
  EXPECT_EQ(process.capabilities.ambient, (std::vector<int>{CAP_NET_BIND_SERVICE}));
}

TEST(SpecParse, ProcessDefaults) {
  Spec spec = parse_spec(config_with_process().dump());
  ASSERT_TRUE(spec.process.has_value());
  EXPECT_FALSE(spec.process->terminal);
  EXPECT_FALSE(spec.process->console_size.has_value());
  // No capabilities object: every set empty (as runc), never "keep the runtime's".
  EXPECT_TRUE(spec.process->capabilities.bounding.empty());
  EXPECT_TRUE(spec.process->capabilities.effective.empty());
  EXPECT_TRUE(spec.process->capabilities.permitted.empty());
  EXPECT_TRUE(spec.process->capabilities.inheritable.empty());
  EXPECT_TRUE(spec.process->capabilities.ambient.empty());
  EXPECT_FALSE(spec.process->oom_score_adj.has_value());
  EXPECT_FALSE(spec.process->user.umask.has_value());
  EXPECT_FALSE(spec.process->no_new_privileges);
}

TEST(SpecParse, ProcessMustBeObject) {
  json config = minimal_config();
  config["process"] = json::array();
  EXPECT_REJECTED(config, "process: must be an object, not an array");
}

TEST(SpecParse, ProcessArgsMustNotBeEmpty) {
  json config = config_with_process();
  config["process"].erase("args");
  EXPECT_REJECTED(config, "process.args: must not be empty");
  config["process"]["args"] = json::array();
  EXPECT_REJECTED(config, "process.args: must not be empty");
  config["process"]["args"] = {"sh", 1};
  EXPECT_REJECTED(config, "process.args[1]: must be a string, not an integer");
  config["process"]["args"] = "sh";
  EXPECT_REJECTED(config, "process.args: must be an array, not a string");
}

TEST(SpecParse, ProcessCwdRequiredAndAbsolute) {
  json config = config_with_process();
  config["process"].erase("cwd");
  EXPECT_REJECTED(config, "process.cwd: is required");
  config["process"]["cwd"] = "work";
  EXPECT_REJECTED(config, "process.cwd: must be an absolute path, not \"work\"");
  config["process"]["cwd"] = "";
  EXPECT_REJECTED(config, "process.cwd: must be an absolute path");
}

TEST(SpecParse, ProcessUserRequired) {
  json config = config_with_process();
  config["process"].erase("user");
  EXPECT_REJECTED(config, "process.user: is required");
  config["process"]["user"] = {{"gid", 0}};
  EXPECT_REJECTED(config, "process.user.uid: is required");
  config["process"]["user"] = {{"uid", 0}};
  EXPECT_REJECTED(config, "process.user.gid: is required");
}

TEST(SpecParse, ProcessUserIdsMustBeUint32) {
  json config = config_with_process();
  config["process"]["user"]["uid"] = -1;
  EXPECT_REJECTED(config, "process.user.uid: must be an integer from 0 to 4294967295");
  config["process"]["user"]["uid"] = 4294967296u;
  EXPECT_REJECTED(config, "process.user.uid: must be an integer from 0 to 4294967295");
  config["process"]["user"]["uid"] = 1.5;
  EXPECT_REJECTED(config, "process.user.uid: must be an integer");
  config["process"]["user"]["uid"] = "0";
  EXPECT_REJECTED(config, "process.user.uid: must be an integer");
  config["process"]["user"]["uid"] = 0;
  config["process"]["user"]["gid"] = true;
  EXPECT_REJECTED(config, "process.user.gid: must be an integer");
  config["process"]["user"]["gid"] = 0;
  config["process"]["user"]["umask"] = -2;
  EXPECT_REJECTED(config, "process.user.umask: must be an integer");
  config["process"]["user"].erase("umask");
  config["process"]["user"]["additionalGids"] = {1, "x"};
  EXPECT_REJECTED(config, "process.user.additionalGids[1]: must be an integer");
}

TEST(SpecParse, ProcessEnvEntriesNeedEquals) {
  json config = config_with_process();
  config["process"]["env"] = {"A=1", "NOVALUE"};
  EXPECT_REJECTED(config, "process.env[1]: must be NAME=value, not \"NOVALUE\"");
  config["process"]["env"] = {"=value"};
  EXPECT_REJECTED(config, "process.env[0]: must be NAME=value");
  config["process"]["env"] = {"A=1", nullptr};
  EXPECT_REJECTED(config, "process.env[1]: must be a string, not null");
}

TEST(SpecParse, ProcessOomScoreAdjRange) {
  json config = config_with_process();
  for (int ok : {-1000, 0, 1000}) {
    config["process"]["oomScoreAdj"] = ok;
    EXPECT_EQ(parse_error(config), "<accepted>") << ok;
  }
  config["process"]["oomScoreAdj"] = 1001;
  EXPECT_REJECTED(config, "process.oomScoreAdj: must be from -1000 to 1000, not 1001");
  config["process"]["oomScoreAdj"] = -1001;
  EXPECT_REJECTED(config, "process.oomScoreAdj: must be from -1000 to 1000, not -1001");
  config["process"]["oomScoreAdj"] = 99999999999;
  EXPECT_REJECTED(config, "process.oomScoreAdj: must be an integer from -2147483648");
}

TEST(SpecParse, ProcessConsoleSize) {
  json config = config_with_process();
  config["process"]["consoleSize"] = {{"height", 10}};
  EXPECT_REJECTED(config, "process.consoleSize.width: is required");
  config["process"]["consoleSize"] = {{"width", 10}};
  EXPECT_REJECTED(config, "process.consoleSize.height: is required");
  config["process"]["consoleSize"] = {{"width", 10}, {"height", -3}};
  EXPECT_REJECTED(config, "process.consoleSize.height: must be an integer");
}

TEST(SpecParse, ProcessTerminalAndFlagsTypes) {
  json config = config_with_process();
  config["process"]["terminal"] = "true";
  EXPECT_REJECTED(config, "process.terminal: must be a boolean, not a string");
  config["process"]["terminal"] = true;
  config["process"]["noNewPrivileges"] = 1;
  EXPECT_REJECTED(config, "process.noNewPrivileges: must be a boolean, not an integer");
  config["process"]["noNewPrivileges"] = true;
  config["process"]["apparmorProfile"] = 1;
  EXPECT_REJECTED(config, "process.apparmorProfile: must be a string");
  config["process"]["apparmorProfile"] = "x";
  config["process"]["selinuxLabel"] = json::object();
  EXPECT_REJECTED(config, "process.selinuxLabel: must be a string, not an object");
}

TEST(SpecParse, RlimitUnknownType) {
  json config = config_with_process();
  config["process"]["rlimits"] = {{{"type", "RLIMIT_FOO"}, {"soft", 1}, {"hard", 1}}};
  EXPECT_REJECTED(config, "process.rlimits[0].type: unknown rlimit \"RLIMIT_FOO\"");
  config["process"]["rlimits"][0]["type"] = "nofile";
  EXPECT_REJECTED(config, "process.rlimits[0].type: unknown rlimit \"nofile\"");
}

TEST(SpecParse, RlimitDuplicateType) {
  json config = config_with_process();
  config["process"]["rlimits"] = {{{"type", "RLIMIT_NOFILE"}, {"soft", 1}, {"hard", 1}},
                                  {{"type", "RLIMIT_CORE"}, {"soft", 1}, {"hard", 1}},
                                  {{"type", "RLIMIT_NOFILE"}, {"soft", 2}, {"hard", 2}}};
  EXPECT_REJECTED(config, "process.rlimits[2].type: duplicate rlimit \"RLIMIT_NOFILE\"");
}

TEST(SpecParse, RlimitFieldsRequired) {
  json config = config_with_process();
  config["process"]["rlimits"] = {{{"soft", 1}, {"hard", 1}}};
  EXPECT_REJECTED(config, "process.rlimits[0].type: is required");
  config["process"]["rlimits"] = {{{"type", "RLIMIT_CPU"}, {"hard", 1}}};
  EXPECT_REJECTED(config, "process.rlimits[0].soft: is required");
  config["process"]["rlimits"] = {{{"type", "RLIMIT_CPU"}, {"soft", 1}}};
  EXPECT_REJECTED(config, "process.rlimits[0].hard: is required");
  config["process"]["rlimits"] = {{{"type", "RLIMIT_CPU"}, {"soft", 1}, {"hard", -1}}};
  EXPECT_REJECTED(config,
                  "process.rlimits[0].hard: must be an integer from 0 to "
                  "18446744073709551615");
}

TEST(SpecParse, RlimitSoftAboveHardIsAccepted) {
  json config = config_with_process();
  config["process"]["rlimits"] = {{{"type", "RLIMIT_NOFILE"}, {"soft", 10}, {"hard", 5}}};
  EXPECT_EQ(parse_error(config), "<accepted>");
}

TEST(SpecParse, CapabilityUnknownName) {
  json config = config_with_process();
  config["process"]["capabilities"] = {
      {"bounding", {"CAP_CHOWN", "CAP_KILL", "CAP_SETUID", "CAP_FOO"}}};
  EXPECT_REJECTED(config, "process.capabilities.bounding[3]: unknown capability \"CAP_FOO\"");
  for (const char* set : {"effective", "permitted", "inheritable", "ambient"}) {
    config["process"]["capabilities"] = {{set, {"chown"}}};
    EXPECT_REJECTED(
        config, std::string("process.capabilities.") + set + "[0]: unknown capability \"chown\"");
  }
  config["process"]["capabilities"] = {{"bounding", "CAP_CHOWN"}};
  EXPECT_REJECTED(config, "process.capabilities.bounding: must be an array, not a string");
}

// --- mounts -------------------------------------------------------------------------------

TEST(SpecParse, Mounts) {
  json config = minimal_config();
  config["mounts"] = {
      {{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}},
      {{"destination", "/data"},
       {"type", "bind"},
       {"source", "/srv/data"},
       {"options", {"rbind", "ro", "nosuid", "rprivate"}}},
      {{"destination", "/dev"},
       {"type", "tmpfs"},
       {"source", "tmpfs"},
       {"options", {"nosuid", "strictatime", "mode=755", "size=65536k"}}},
  };
  Spec spec = parse_spec(config.dump());
  ASSERT_EQ(spec.mounts.size(), 3u);
  EXPECT_EQ(spec.mounts[0].destination, "/proc");
  EXPECT_EQ(spec.mounts[0].type, "proc");
  EXPECT_EQ(spec.mounts[0].source, "proc");
  EXPECT_TRUE(spec.mounts[0].options.empty());
  EXPECT_EQ(spec.mounts[0].parsed.flags, 0u);

  const Mount& bind = spec.mounts[1];
  EXPECT_EQ(bind.options, (std::vector<std::string>{"rbind", "ro", "nosuid", "rprivate"}));
  EXPECT_TRUE(bind.parsed.bind);
  EXPECT_TRUE(bind.parsed.recursive);
  EXPECT_EQ(bind.parsed.flags & (MS_RDONLY | MS_NOSUID),
            static_cast<unsigned long>(MS_RDONLY | MS_NOSUID));
  EXPECT_EQ(bind.parsed.propagation, static_cast<unsigned long>(MS_PRIVATE | MS_REC));
  EXPECT_EQ(bind.parsed.data, "");

  EXPECT_EQ(spec.mounts[2].parsed.flags, static_cast<unsigned long>(MS_NOSUID | MS_STRICTATIME));
  EXPECT_EQ(spec.mounts[2].parsed.data, "mode=755,size=65536k");
}

// Idmapped mounts are not done (`hanok features` says so): a mount asking for one is refused, not
// made without its mapping.
TEST(SpecParse, IdmappedMountsAreRefused) {
  json config = minimal_config();
  config["mounts"] = {
      {{"destination", "/mapped"},
       {"type", "bind"},
       {"source", "/srv/m"},
       {"options", {"bind", "idmap"}},
       {"uidMappings", {{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}}}}};
  EXPECT_REJECTED(config, "mounts[0].uidMappings: idmapped mounts are not supported by hanok");
  config["mounts"][0].erase("uidMappings");
  config["mounts"][0]["gidMappings"] = {{{"containerID", 0}, {"hostID", 200000}, {"size", 1000}}};
  EXPECT_REJECTED(config, "mounts[0].gidMappings: idmapped mounts are not supported by hanok");
}

// runc's checkProcMount: /proc takes only a procfs, and below it only LXCFS's files may be
// covered.
TEST(SpecParse, MountsAtOrBelowProc) {
  json config = minimal_config();
  config["mounts"] = {{{"destination", "/proc"}, {"type", "tmpfs"}, {"source", "tmpfs"}}};
  EXPECT_REJECTED(config,
                  "mounts[0].destination: \"/proc\" cannot be mounted because it is not "
                  "of type proc");
  for (const char* inside : {"/proc/sys", "/proc/sys/kernel/core_pattern", "/proc/self",
                             "/proc/1/root", "/proc/sysrq-trigger", "/tmp/../proc/sys/net"}) {
    config["mounts"] = {
        {{"destination", inside}, {"type", "bind"}, {"source", "/srv/x"}, {"options", {"rbind"}}}};
    EXPECT_TRUE(hanok::oci::testing::starts_with(parse_error(config), "mounts[0].destination: \""))
        << inside;
    EXPECT_NE(parse_error(config).find("cannot be mounted because it is inside /proc"),
              std::string::npos)
        << inside;
  }
  for (const char* allowed :
       {"/proc/cpuinfo", "/proc/meminfo", "/proc/uptime", "/proc/sys/kernel/ns_last_pid",
        "/proc/sys/crypto/fips_enabled", "/procfs", "/proc"}) {
    config["mounts"] = {
        {{"destination", allowed}, {"type", "bind"}, {"source", "/srv/x"}, {"options", {"rbind"}}}};
    EXPECT_EQ(parse_error(config), "<accepted>") << allowed;
  }
  config["mounts"] = {{{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}}};
  EXPECT_EQ(parse_error(config), "<accepted>");
}

TEST(SpecParse, MountsMustBeArrayOfObjects) {
  json config = minimal_config();
  config["mounts"] = {{"destination", "/x"}};
  EXPECT_REJECTED(config, "mounts: must be an array, not an object");
  config["mounts"] = {"/x"};
  EXPECT_REJECTED(config, "mounts[0]: must be an object, not a string");
}

TEST(SpecParse, MountDestinationRequiredAndAbsolute) {
  json config = minimal_config();
  config["mounts"] = {{{"destination", "/proc"}, {"type", "proc"}}, {{"type", "tmpfs"}}};
  EXPECT_REJECTED(config, "mounts[1].destination: is required");
  config["mounts"][1]["destination"] = "tmp";
  EXPECT_REJECTED(config, "mounts[1].destination: must be an absolute path, not \"tmp\"");
  config["mounts"][1]["destination"] = "";
  EXPECT_REJECTED(config, "mounts[1].destination: must be an absolute path");
}

TEST(SpecParse, MountFieldTypes) {
  json config = minimal_config();
  config["mounts"] = {{{"destination", "/a"}, {"type", 1}}};
  EXPECT_REJECTED(config, "mounts[0].type: must be a string");
  config["mounts"] = {{{"destination", "/a"}, {"source", json::array()}}};
  EXPECT_REJECTED(config, "mounts[0].source: must be a string");
  config["mounts"] = {{{"destination", "/a"}, {"options", {"ro", 3}}}};
  EXPECT_REJECTED(config, "mounts[0].options[1]: must be a string, not an integer");
  config["mounts"] = {
      {{"destination", "/a"}, {"uidMappings", {{{"containerID", 0}, {"hostID", 1}}}}}};
  EXPECT_REJECTED(config, "mounts[0].uidMappings[0].size: is required");
  config["mounts"] = {{{"destination", "/a"},
                       {"gidMappings", {{{"containerID", -1}, {"hostID", 1}, {"size", 1}}}}}};
  EXPECT_REJECTED(config, "mounts[0].gidMappings[0].containerID: must be an integer");
}

// --- hooks --------------------------------------------------------------------------------

TEST(SpecParse, Hooks) {
  json config = minimal_config();
  json hook = {
      {"path", "/usr/bin/hook"}, {"args", {"hook", "--flag"}}, {"env", {"A=1"}}, {"timeout", 5}};
  config["hooks"] = {{"prestart", {hook}},        {"createRuntime", {hook, hook}},
                     {"createContainer", {hook}}, {"startContainer", {hook}},
                     {"poststart", {hook}},       {"poststop", {{{"path", "/bin/true"}}}}};
  Spec spec = parse_spec(config.dump());
  ASSERT_EQ(spec.hooks.prestart.size(), 1u);
  EXPECT_EQ(spec.hooks.prestart[0].path, "/usr/bin/hook");
  EXPECT_EQ(spec.hooks.prestart[0].args, (std::vector<std::string>{"hook", "--flag"}));
  EXPECT_EQ(spec.hooks.prestart[0].env, (std::vector<std::string>{"A=1"}));
  EXPECT_EQ(spec.hooks.prestart[0].timeout, 5);
  EXPECT_EQ(spec.hooks.create_runtime.size(), 2u);
  EXPECT_EQ(spec.hooks.create_container.size(), 1u);
  EXPECT_EQ(spec.hooks.start_container.size(), 1u);
  EXPECT_EQ(spec.hooks.poststart.size(), 1u);
  ASSERT_EQ(spec.hooks.poststop.size(), 1u);
  EXPECT_FALSE(spec.hooks.poststop[0].timeout.has_value());
}

TEST(SpecParse, HookPathRequiredAndAbsolute) {
  for (const char* kind : {"prestart", "createRuntime", "createContainer", "startContainer",
                           "poststart", "poststop"}) {
    json config = minimal_config();
    config["hooks"][kind] = {{{"path", "/bin/true"}}, {{"args", {"x"}}}};
    EXPECT_REJECTED(config, std::string("hooks.") + kind + "[1].path: is required");
    config["hooks"][kind][1]["path"] = "bin/true";
    EXPECT_REJECTED(config, std::string("hooks.") + kind + "[1].path: must be an absolute path");
  }
}

TEST(SpecParse, HookTimeoutMustBePositive) {
  json config = minimal_config();
  config["hooks"]["poststop"] = {{{"path", "/bin/true"}, {"timeout", 0}}};
  EXPECT_REJECTED(config, "hooks.poststop[0].timeout: must be greater than zero");
  config["hooks"]["poststop"][0]["timeout"] = -5;
  EXPECT_REJECTED(config, "hooks.poststop[0].timeout: must be greater than zero");
  config["hooks"]["poststop"][0]["timeout"] = "5";
  EXPECT_REJECTED(config, "hooks.poststop[0].timeout: must be an integer");
  config["hooks"]["poststop"][0]["timeout"] = 1;
  EXPECT_EQ(parse_error(config), "<accepted>");
}

TEST(SpecParse, HookFieldTypes) {
  json config = minimal_config();
  config["hooks"] = {{"prestart", {{{"path", "/x"}, {"args", "x"}}}}};
  EXPECT_REJECTED(config, "hooks.prestart[0].args: must be an array, not a string");
  config["hooks"] = {{"prestart", {{{"path", "/x"}, {"env", {1}}}}}};
  EXPECT_REJECTED(config, "hooks.prestart[0].env[0]: must be a string");
  config["hooks"] = {{"prestart", {{"path", "/x"}}}};
  EXPECT_REJECTED(config, "hooks.prestart: must be an array, not an object");
}

// --- default config -----------------------------------------------------------------------

TEST(DefaultSpec, MatchesRuncSpecLayout) {
  json config = default_spec_json();
  EXPECT_EQ(config["ociVersion"], "1.2.0");
  EXPECT_EQ(config["hostname"], "hanok");
  EXPECT_EQ(config["root"], json({{"path", "rootfs"}, {"readonly", true}}));
  EXPECT_EQ(config["process"]["args"], json::array({"sh"}));
  EXPECT_EQ(config["process"]["user"], json({{"uid", 0}, {"gid", 0}}));
  EXPECT_EQ(config["process"]["env"],
            json::array({"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                         "TERM=xterm"}));
  json caps = json::array({"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"});
  EXPECT_EQ(config["process"]["capabilities"],
            json({{"bounding", caps}, {"effective", caps}, {"permitted", caps}}));
  EXPECT_EQ(config["process"]["rlimits"],
            json::array({{{"type", "RLIMIT_NOFILE"}, {"hard", 1024}, {"soft", 1024}}}));
  EXPECT_EQ(config["linux"]["resources"],
            json({{"devices", json::array({{{"allow", false}, {"access", "rwm"}}})}}));
  EXPECT_EQ(config["linux"]["namespaces"], json::array({{{"type", "pid"}},
                                                        {{"type", "network"}},
                                                        {{"type", "ipc"}},
                                                        {{"type", "uts"}},
                                                        {{"type", "mount"}}}));
  EXPECT_EQ(config["mounts"].size(), 7u);
  EXPECT_FALSE(config["mounts"][0].contains("options"));
  EXPECT_EQ(config["mounts"][2],
            json({{"destination", "/dev/pts"},
                  {"type", "devpts"},
                  {"source", "devpts"},
                  {"options",
                   {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}}}));
  EXPECT_EQ(config["linux"]["maskedPaths"].size(), 11u);
  EXPECT_EQ(config["linux"]["readonlyPaths"], json::array({"/proc/bus", "/proc/fs", "/proc/irq",
                                                           "/proc/sys", "/proc/sysrq-trigger"}));
}

TEST(DefaultSpec, RoundTripsThroughParseSpec) {
  Spec spec = parse_spec(default_spec_json().dump(2));
  EXPECT_EQ(spec.oci_version, "1.2.0");
  EXPECT_EQ(spec.root.path, "rootfs");
  EXPECT_TRUE(spec.root.readonly);
  EXPECT_EQ(spec.hostname, "hanok");
  ASSERT_TRUE(spec.process.has_value());
  EXPECT_TRUE(spec.process->terminal);
  EXPECT_EQ(spec.process->args, std::vector<std::string>{"sh"});
  EXPECT_EQ(spec.process->cwd, "/");
  EXPECT_TRUE(spec.process->no_new_privileges);
  ASSERT_EQ(spec.process->rlimits.size(), 1u);
  EXPECT_EQ(spec.process->rlimits[0].resource, RLIMIT_NOFILE);
  EXPECT_EQ(spec.process->rlimits[0].soft, 1024u);
  EXPECT_EQ(spec.process->rlimits[0].hard, 1024u);
  std::vector<int> caps = {CAP_AUDIT_WRITE, CAP_KILL, CAP_NET_BIND_SERVICE};
  EXPECT_EQ(spec.process->capabilities.bounding, caps);
  EXPECT_EQ(spec.process->capabilities.effective, caps);
  EXPECT_EQ(spec.process->capabilities.permitted, caps);
  EXPECT_TRUE(spec.process->capabilities.ambient.empty());

  ASSERT_EQ(spec.mounts.size(), 7u);
  EXPECT_EQ(spec.mounts[0].destination, "/proc");
  EXPECT_EQ(spec.mounts[5].destination, "/sys");
  EXPECT_EQ(spec.mounts[5].parsed.flags,
            static_cast<unsigned long>(MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY));
  EXPECT_EQ(spec.mounts[2].parsed.data, "newinstance,ptmxmode=0666,mode=0620,gid=5");
  EXPECT_EQ(spec.mounts[6].parsed.flags,
            static_cast<unsigned long>(MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RELATIME | MS_RDONLY));

  ASSERT_EQ(spec.linux.namespaces.size(), 5u);
  using isolate::NamespaceType;
  for (NamespaceType type : {NamespaceType::Pid, NamespaceType::Network, NamespaceType::Ipc,
                             NamespaceType::Uts, NamespaceType::Mount}) {
    const Namespace* ns = spec.linux.find_namespace(type);
    ASSERT_NE(ns, nullptr) << isolate::oci_name(type);
    EXPECT_TRUE(ns->path.empty());
  }
  EXPECT_FALSE(spec.linux.has_namespace(NamespaceType::User));
  EXPECT_FALSE(spec.linux.has_namespace(NamespaceType::Cgroup));
  EXPECT_EQ(spec.linux.resources["devices"][0]["access"], "rwm");
  EXPECT_EQ(spec.linux.masked_paths.front(), "/proc/acpi");
  EXPECT_EQ(spec.linux.readonly_paths.back(), "/proc/sysrq-trigger");
}

// --- load_spec ----------------------------------------------------------------------------

class LoadSpec : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/hanok-spec-test-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    ::unlink((dir_ + "/config.json").c_str());
    ::rmdir(dir_.c_str());
  }
  void write_config(const std::string& text) { std::ofstream(dir_ + "/config.json") << text; }
  std::string dir_;
};

TEST_F(LoadSpec, ReadsBundleConfig) {
  write_config(default_spec_json().dump());
  EXPECT_EQ(load_spec(dir_).hostname, "hanok");
  EXPECT_EQ(load_spec(dir_ + "/").hostname, "hanok");
}

TEST_F(LoadSpec, MissingConfigNamesPathAndErrno) {
  try {
    load_spec(dir_);
    FAIL() << "load_spec accepted a bundle without config.json";
  } catch (const SpecError& e) {
    EXPECT_EQ(std::string(e.what()), dir_ + "/config.json: No such file or directory");
  }
}

TEST_F(LoadSpec, InvalidConfigIsASpecError) {
  write_config("{ not json");
  EXPECT_THROW(load_spec(dir_), SpecError);
  write_config(R"({"ociVersion": "1.0.0", "root": {"path": ""}})");
  try {
    load_spec(dir_);
    FAIL() << "empty root.path accepted";
  } catch (const SpecError& e) {
    EXPECT_TRUE(testing::starts_with(e.what(), "root.path: must not be empty"));
  }
}

}  // namespace
}  // namespace hanok::oci
