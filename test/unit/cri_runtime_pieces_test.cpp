// The RuntimeService's pure pieces: the CRI log format, users resolved in an image's files,
// seccomp choices and Docker-profile conversion, CNI configs and results, sysctl scopes, the
// helpers' flags.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "../common/require.hpp"
#include "checkpoint_signature.hpp"
#include "cni_config.hpp"
#include "cni_runtime_config.hpp"
#include "container_spec.hpp"
#include "cri_client.hpp"
#include "cri_log.hpp"
#include "cri_signals.hpp"
#include "isolate/error.hpp"
#include "isolate/files.hpp"
#include "isolate/unique_fd.hpp"
#include "monitor.hpp"
#include "pod_network.hpp"
#include "pod_resources.hpp"
#include "pod_sandbox.hpp"
#include "pod_stats_reader.hpp"
#include "psi_reader.hpp"
#include "rootfs_accounts.hpp"
#include "seccomp_profiles.hpp"

namespace hanok::cri {
namespace {

// A scratch directory removed with the test.
class TempDir {
 public:
  TempDir() {
    char name[] = "/tmp/hanok-cri-unit-XXXXXX";
    path_ = ::mkdtemp(name);
  }
  ~TempDir() { isolate::remove_tree(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// --- the CRI log -----------------------------------------------------------------------------

TEST(CriLog, LinesAreRecordsAndLongOnesAreSplitInPartialRecords) {
  TempDir dir;
  std::string path = dir.path() + "/c.log";
  {
    monitor::CriLog log(path);
    monitor::CriLog::Stream out(log, "stdout");
    monitor::CriLog::Stream err(log, "stderr");
    out.write("hello ");
    out.write("world\nsecond");  // "second" waits for its end
    err.write("oops\n");
    out.write(std::string(40000, 'x') + "\n");
    out.write("no newline at the end");
    out.close();
  }
  auto lines = client::parse_cri_log(isolate::read_file(path));
  ASSERT_EQ(lines.size(), 6u);
  EXPECT_EQ(lines[0].stream, "stdout");
  EXPECT_EQ(lines[0].tag, 'F');
  EXPECT_EQ(lines[0].text, "hello world");
  EXPECT_EQ(lines[1].stream, "stderr");
  EXPECT_EQ(lines[1].text, "oops");
  // "second" + 40000 x: 16 KiB parts, the rest ends the line.
  EXPECT_EQ(lines[2].tag, 'P');
  EXPECT_EQ(lines[2].text.size(), monitor::kMaxLogRecord);
  EXPECT_EQ(lines[2].text.substr(0, 7), "secondx");
  EXPECT_EQ(lines[3].tag, 'P');
  EXPECT_EQ(lines[3].text.size(), monitor::kMaxLogRecord);
  EXPECT_EQ(lines[4].tag, 'F');
  EXPECT_EQ(lines[2].text.size() + lines[3].text.size() + lines[4].text.size(), 40006u);
  EXPECT_EQ(lines[5].text, "no newline at the end");
  // The stream ended inside a line: a part, as containerd logs it (F would claim a newline).
  EXPECT_EQ(lines[5].tag, 'P');
  auto messages = client::log_messages(lines, "stdout");
  ASSERT_EQ(messages.size(), 3u);
  EXPECT_EQ(messages[1], "second" + std::string(40000, 'x'));
  // Timestamps are RFC 3339 with nanoseconds, in UTC.
  EXPECT_EQ(lines[0].time.size(), 30u) << lines[0].time;
  EXPECT_EQ(lines[0].time.back(), 'Z');
}

TEST(CriLog, ReopenWritesToTheNewFileAtThePath) {
  TempDir dir;
  std::string path = dir.path() + "/c.log";
  monitor::CriLog log(path);
  monitor::CriLog::Stream out(log, "stdout");
  out.write("before\n");
  ASSERT_EQ(::rename(path.c_str(), (path + ".1").c_str()), 0);
  out.write("between\n");  // still to the renamed file: nothing is lost
  log.reopen();
  out.write("after\n");
  EXPECT_EQ(client::log_messages(client::parse_cri_log(isolate::read_file(path + ".1"))),
            (std::vector<std::string>{"before", "between"}));
  EXPECT_EQ(client::log_messages(client::parse_cri_log(isolate::read_file(path))),
            (std::vector<std::string>{"after"}));
}

// --- users from the image's files ----------------------------------------------------------------

const RootfsAccounts& accounts() {
  static const RootfsAccounts accounts(
      "root:x:0:0:root:/root:/bin/sh\n"
      "# a comment\n"
      "user:x:1000:1000::/home/user:/bin/sh\n"  // an empty field keeps the others in place
      "broken-line\n"
      "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
      "root:x:0:\nuser:x:1000:\nextra:x:2000:user,other\nwheel:x:10:root\n");
  return accounts;
}

TEST(ResolveUser, NamesAndNumbersAsContainerdReadsThem) {
  auto root = resolve_user(accounts(), "", {}, "f");
  EXPECT_EQ(root.uid, 0u);
  EXPECT_EQ(root.gid, 0u);
  EXPECT_EQ(root.additional_gids, (std::vector<uint32_t>{0, 10}));
  auto user = resolve_user(accounts(), "user", {1234, 5}, "f");
  EXPECT_EQ(user.uid, 1000u);
  EXPECT_EQ(user.gid, 1000u);
  EXPECT_EQ(user.additional_gids, (std::vector<uint32_t>{5, 1000, 1234, 2000}));
  auto by_uid = resolve_user(accounts(), "1000", {}, "f");
  EXPECT_EQ(by_uid.gid, 1000u);
  EXPECT_EQ(by_uid.additional_gids, (std::vector<uint32_t>{1000, 2000}));
  auto stranger = resolve_user(accounts(), "4242", {}, "f");  // not in /etc/passwd: gid 0
  EXPECT_EQ(stranger.uid, 4242u);
  EXPECT_EQ(stranger.gid, 0u);
  EXPECT_EQ(stranger.additional_gids, (std::vector<uint32_t>{0}));
  auto both = resolve_user(accounts(), "user:extra", {}, "f");
  EXPECT_EQ(both.gid, 2000u);
  auto numbers = resolve_user(accounts(), "77:88", {}, "f");
  EXPECT_EQ(numbers.uid, 77u);
  EXPECT_EQ(numbers.gid, 88u);
}

TEST(ResolveUser, UnknownNamesAreInvalidAndNameTheField) {
  try {
    resolve_user(accounts(), "daemon", {}, "config.linux.security_context.run_as_username");
    FAIL() << "an unknown user resolved";
  } catch (const isolate::Error& e) {
    EXPECT_EQ(e.kind(), isolate::ErrorKind::Invalid);
    EXPECT_NE(std::string(e.what()).find("run_as_username"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("daemon"), std::string::npos) << e.what();
  }
  EXPECT_THROW(resolve_user(accounts(), "user:nogroup", {}, "f"), isolate::Error);
  EXPECT_THROW(resolve_user(accounts(), "user", {-1}, "f"), isolate::Error);
}

// SupplementalGroupsPolicy Strict: nothing from the image's /etc/group, only the primary gid and
// the CRI's supplemental groups.
TEST(ResolveUser, StrictTakesNoGroupsFromTheImage) {
  auto user = resolve_user(accounts(), "user", {1234, 5}, "f", ImageGroups::Strict);
  EXPECT_EQ(user.gid, 1000u);
  EXPECT_EQ(user.additional_gids, (std::vector<uint32_t>{5, 1000, 1234}));
  auto root = resolve_user(accounts(), "", {}, "f", ImageGroups::Strict);
  EXPECT_EQ(root.additional_gids, (std::vector<uint32_t>{0}));
}

// An image's accounts files that are not regular files are never opened (a device's open can
// act; a fifo would hang the reader), seen with inotify on the container's overlay rootfs, as
// hanokd reads them; a regular file is (the watch sees opens).
TEST(RootfsAccounts, FilesThatAreNotRegularAreNeverOpened) {
  HANOK_REQUIRE(::geteuid() == 0, "needs root (mknod, overlayfs)");
  TempDir dir;
  for (const char* sub : {"/lower", "/lower/etc", "/upper", "/work", "/rootfs"}) {
    ASSERT_EQ(::mkdir((dir.path() + sub).c_str(), 0755), 0) << sub;
  }
  ASSERT_EQ(::mknod((dir.path() + "/lower/etc/passwd").c_str(), S_IFCHR | 0644, makedev(1, 3)), 0);
  ASSERT_EQ(::mkfifo((dir.path() + "/lower/etc/group").c_str(), 0644), 0);
  std::string rootfs = dir.path() + "/rootfs";
  std::string options = "lowerdir=" + dir.path() + "/lower,upperdir=" + dir.path() +
                        "/upper,workdir=" + dir.path() + "/work";
  ASSERT_EQ(::mount("overlay", rootfs.c_str(), "overlay", 0, options.c_str()), 0);
  struct Unmount {
    std::string path;
    ~Unmount() { ::umount2(path.c_str(), MNT_DETACH); }
  } unmount{rootfs};
  isolate::UniqueFd watch(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  ASSERT_TRUE(watch.valid());
  ASSERT_GE(::inotify_add_watch(watch.get(), (rootfs + "/etc").c_str(), IN_OPEN), 0);
  ASSERT_GE(::inotify_add_watch(watch.get(), (rootfs + "/etc/passwd").c_str(), IN_OPEN), 0);
  auto opened = [&] {
    char buffer[4096];
    ssize_t n = ::read(watch.get(), buffer, sizeof buffer);
    return n > 0;
  };
  isolate::UniqueFd root(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  try {
    RootfsAccounts accounts(root.get());
    ADD_FAILURE() << "a character device was read as /etc/passwd";
  } catch (const isolate::Error& e) {
    EXPECT_EQ(e.kind(), isolate::ErrorKind::Invalid);
    EXPECT_EQ(std::string(e.what()),
              "the image's /etc/passwd is a character device, not a regular file");
  }
  EXPECT_FALSE(opened()) << "the device was opened";

  // A fifo reached through a symlink: the same, never opened (nor waited on).
  ASSERT_EQ(::unlink((rootfs + "/etc/passwd").c_str()), 0);
  isolate::write_file_atomic(rootfs + "/etc/passwd", "root:x:0:0::/:/bin/sh\n", 0644);
  ASSERT_EQ(::rename((rootfs + "/etc/group").c_str(), (rootfs + "/etc/real-group").c_str()), 0);
  ASSERT_EQ(::symlink("/etc/real-group", (rootfs + "/etc/group").c_str()), 0);
  auto opened_names = [&] {
    char buffer[4096];
    std::set<std::string> names;
    for (ssize_t n; (n = ::read(watch.get(), buffer, sizeof buffer)) > 0;) {
      for (ssize_t at = 0; at < n;) {
        auto* event = reinterpret_cast<inotify_event*>(buffer + at);
        if (event->len > 0) names.insert(event->name);
        at += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
      }
    }
    return names;
  };
  (void)opened_names();  // the events of the changes just made
  EXPECT_THROW(RootfsAccounts{root.get()}, isolate::Error);
  EXPECT_EQ(opened_names().count("real-group"), 0U) << "the fifo was opened";
  // Both regular: both are opened (the watch sees opens).
  ASSERT_EQ(::unlink((rootfs + "/etc/group").c_str()), 0);
  isolate::write_file_atomic(rootfs + "/etc/group", "root:x:0:\n", 0644);
  (void)opened_names();
  RootfsAccounts accounts(root.get());
  EXPECT_EQ(opened_names(), (std::set<std::string>{"group", "passwd"}));
}

// --- stop signals --------------------------------------------------------------------------------

TEST(CriSignals, EveryNameOfTheCriHasItsNumber) {
  EXPECT_EQ(signal_number(runtime::v1::SIGNAL_SIGUSR1), SIGUSR1);
  EXPECT_EQ(signal_number(runtime::v1::SIGNAL_SIGCLD), SIGCHLD);
  EXPECT_EQ(signal_number(runtime::v1::SIGNAL_SIGPOLL), SIGIO);
  EXPECT_EQ(signal_number(runtime::v1::SIGNAL_SIGIOT), SIGABRT);
  EXPECT_EQ(signal_number(runtime::v1::SIGNAL_SIGRTMIN), SIGRTMIN);
  EXPECT_EQ(signal_number(runtime::v1::SIGNAL_SIGRTMINPLUS3), SIGRTMIN + 3);
  EXPECT_EQ(signal_number(runtime::v1::SIGNAL_SIGRTMAXMINUS2), SIGRTMAX - 2);
  EXPECT_EQ(signal_number(runtime::v1::SIGNAL_SIGRTMAX), SIGRTMAX);
  EXPECT_EQ(signal_number(runtime::v1::SIGNAL_RUNTIME_DEFAULT), std::nullopt);
  EXPECT_EQ(signal_number(static_cast<runtime::v1::Signal>(999)), std::nullopt);
  // Every value of the enum is a signal, and back to the same number.
  const auto* values = runtime::v1::Signal_descriptor();
  for (int i = 0; i < values->value_count(); ++i) {
    auto signal = static_cast<runtime::v1::Signal>(values->value(i)->number());
    if (signal == runtime::v1::SIGNAL_RUNTIME_DEFAULT) continue;
    auto number = signal_number(signal);
    ASSERT_TRUE(number.has_value()) << values->value(i)->name();
    EXPECT_EQ(signal_number(cri_signal(*number)), number) << values->value(i)->name();
  }
  EXPECT_EQ(cri_signal(SIGCHLD), runtime::v1::SIGNAL_SIGCHLD);
  EXPECT_EQ(cri_signal(SIGTERM), runtime::v1::SIGNAL_SIGTERM);
}

// --- checkpoint signatures ----------------------------------------------------------------------

// An archive's contents as write_checkpoint_archive lays them out.
void lay_out_checkpoint(const std::string& dir) {
  isolate::make_dirs(dir + "/checkpoint", 0700);
  isolate::write_file_atomic(dir + "/checkpoint/pages-1.img", std::string(10000, 'p'), 0600);
  isolate::write_file_atomic(dir + "/checkpoint/core-1.img", "core", 0600);
  isolate::write_file_atomic(dir + "/config.dump", "{}", 0600);
  isolate::write_file_atomic(dir + "/spec.dump", "{\"process\":{}}", 0600);
}

std::string refusal_of(const CheckpointSigner& signer, const std::string& dir) {
  try {
    signer.verify(dir, "container_configs[c]");
  } catch (const isolate::Error& e) {
    EXPECT_EQ(e.kind(), isolate::ErrorKind::Invalid);
    return e.what();
  }
  return "<accepted>";
}

TEST(CheckpointSignature, OnlyWhatThisNodeSignedAsItWasPasses) {
  TempDir root;
  CheckpointSigner signer(root.path());
  struct stat key {};
  ASSERT_EQ(::stat((root.path() + "/checkpoint-signing.key").c_str(), &key), 0);
  EXPECT_EQ(key.st_mode & 0777, 0600U);
  EXPECT_EQ(key.st_size, 32);
  std::string dir = root.path() + "/archive";
  lay_out_checkpoint(dir);
  signer.sign(dir);
  EXPECT_EQ(refusal_of(signer, dir), "<accepted>");
  // The same key on the next start: what it signed still passes.
  EXPECT_EQ(refusal_of(CheckpointSigner(root.path()), dir), "<accepted>");

  // One byte of a CRIU image changed.
  std::string pages = dir + "/checkpoint/pages-1.img";
  std::string original = isolate::read_file(pages);
  std::string changed = original;
  changed[5000] = 'q';
  isolate::write_file_atomic(pages, changed, 0600);
  EXPECT_NE(refusal_of(signer, dir).find("was altered after it was signed: checkpoint/pages-1.img"),
            std::string::npos)
      << refusal_of(signer, dir);
  isolate::write_file_atomic(pages, original, 0600);
  // A file added, a file gone.
  isolate::write_file_atomic(dir + "/checkpoint/extra.img", "x", 0600);
  EXPECT_NE(refusal_of(signer, dir).find("altered"), std::string::npos);
  ::unlink((dir + "/checkpoint/extra.img").c_str());
  ::unlink((dir + "/checkpoint/core-1.img").c_str());
  EXPECT_NE(refusal_of(signer, dir).find("altered"), std::string::npos);
  isolate::write_file_atomic(dir + "/checkpoint/core-1.img", "core", 0600);
  EXPECT_EQ(refusal_of(signer, dir), "<accepted>");

  // The signature's own list changed to match a changed file: its mac no longer does.
  std::string signature_path = dir + "/hanok-signature.json";
  std::string signature = isolate::read_file(signature_path);
  auto doc = nlohmann::json::parse(signature);
  for (auto& entry : doc["entries"]) {
    if (entry["path"] == "config.dump") entry["size"] = 3;
  }
  isolate::write_file_atomic(signature_path, doc.dump(), 0600);
  isolate::write_file_atomic(dir + "/config.dump", "{ }", 0600);
  EXPECT_NE(refusal_of(signer, dir).find("not signed by this node"), std::string::npos)
      << refusal_of(signer, dir);
  isolate::write_file_atomic(dir + "/config.dump", "{}", 0600);
  isolate::write_file_atomic(signature_path, signature, 0600);

  // Another node's key, no signature at all, a link or a device in the archive.
  TempDir other;
  EXPECT_NE(refusal_of(CheckpointSigner(other.path()), dir).find("not signed by this node"),
            std::string::npos);
  ::unlink(signature_path.c_str());
  EXPECT_NE(refusal_of(signer, dir).find("is not signed"), std::string::npos);
  ASSERT_EQ(::symlink("/etc/shadow", (dir + "/spec.dump.link").c_str()), 0);
  EXPECT_THROW(signer.sign(dir), isolate::Error);
}

TEST(CheckpointSignature, AKeyFileOthersCanReadIsRefused) {
  TempDir root;
  isolate::write_file_atomic(root.path() + "/checkpoint-signing.key", std::string(32, 'k'), 0644);
  EXPECT_THROW(CheckpointSigner{root.path()}, std::exception);
}

// --- seccomp -----------------------------------------------------------------------------------

TEST(Seccomp, TheProfileStringsOfTheKubelet) {
  const std::string field = "config.linux.security_context.seccomp";
  EXPECT_EQ(choose_seccomp(nullptr, "", field).kind, SeccompKind::Unconfined);
  EXPECT_EQ(choose_seccomp(nullptr, "unconfined", field).kind, SeccompKind::Unconfined);
  EXPECT_EQ(choose_seccomp(nullptr, "runtime/default", field).kind, SeccompKind::RuntimeDefault);
  EXPECT_EQ(choose_seccomp(nullptr, "docker/default", field).kind, SeccompKind::RuntimeDefault);
  auto local = choose_seccomp(nullptr, "localhost//etc/p.json", field);
  EXPECT_EQ(local.kind, SeccompKind::Localhost);
  EXPECT_EQ(local.localhost_path, "/etc/p.json");
  EXPECT_THROW(choose_seccomp(nullptr, "/etc/p.json", field), isolate::Error);
  EXPECT_THROW(choose_seccomp(nullptr, "localhost/relative.json", field), isolate::Error);
  // The profile message wins over the string.
  runtime::v1::SecurityProfile profile;
  profile.set_profile_type(runtime::v1::SecurityProfile::RuntimeDefault);
  EXPECT_EQ(choose_seccomp(&profile, "unconfined", field).kind, SeccompKind::RuntimeDefault);
  profile.set_profile_type(runtime::v1::SecurityProfile::Localhost);
  profile.set_localhost_ref("/var/lib/p.json");
  EXPECT_EQ(choose_seccomp(&profile, "", field).localhost_path, "/var/lib/p.json");
}

TEST(Seccomp, DockerProfilesKeepTheRulesForThisHostAndTheseCapabilities) {
  auto profile = nlohmann::json::parse(R"({
    "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
    "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86"]},
                {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]}],
    "syscalls": [
      {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
      {"name": "chmod", "action": "SCMP_ACT_ERRNO", "errnoRet": 1},
      {"names": ["mount"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
      {"names": ["ptrace"], "action": "SCMP_ACT_ALLOW", "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
      {"names": ["arm_only"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["arm64"]}}]})");
  auto plain = oci_seccomp_from_profile(profile, {"CAP_CHOWN"});
  EXPECT_EQ(plain["defaultAction"], "SCMP_ACT_ERRNO");
  EXPECT_EQ(plain["defaultErrnoRet"], 1);
  EXPECT_EQ(plain["architectures"], nlohmann::json({"SCMP_ARCH_X86_64", "SCMP_ARCH_X86"}));
  std::vector<std::string> names;
  for (const auto& rule : plain["syscalls"]) names.push_back(rule["names"][0]);
  EXPECT_EQ(names, (std::vector<std::string>{"read", "chmod", "ptrace"}));
  auto admin = oci_seccomp_from_profile(profile, {"CAP_SYS_ADMIN"});
  names.clear();
  for (const auto& rule : admin["syscalls"]) names.push_back(rule["names"][0]);
  EXPECT_EQ(names, (std::vector<std::string>{"read", "chmod", "mount"}));
}

// --- CNI ---------------------------------------------------------------------------------------

TEST(Cni, TheFirstValidConfigInLexicalOrder) {
  TempDir dir;
  EXPECT_FALSE(load_cni_network(dir.path()).network);
  EXPECT_NE(load_cni_network(dir.path()).problem.find(dir.path()), std::string::npos);
  isolate::write_file_atomic(dir.path() + "/00-broken.conflist", "{not json", 0644);
  isolate::write_file_atomic(dir.path() + "/05-empty.conflist",
                             R"({"cniVersion":"1.0.0","name":"e","plugins":[]})", 0644);
  isolate::write_file_atomic(dir.path() + "/20-later.conflist",
                             R"({"cniVersion":"1.0.0","name":"later","plugins":[{"type":"x"}]})",
                             0644);
  isolate::write_file_atomic(dir.path() + "/10-single.conf",
                             R"({"cniVersion":"0.3.1","name":"single","type":"bridge"})", 0644);
  auto load = load_cni_network(dir.path());
  ASSERT_TRUE(load.network);
  EXPECT_EQ(load.network->name, "single");
  EXPECT_EQ(load.network->cni_version, "0.3.1");
  ASSERT_EQ(load.network->plugins.size(), 1u);
  EXPECT_EQ(load.network->plugins[0]["type"], "bridge");
  EXPECT_EQ(find_cni_plugin("../../bin/sh", {"/usr/lib/cni"}), "");
}

TEST(Cni, TheAddressesOfEveryResultVersion) {
  auto v1 = nlohmann::json::parse(R"({"cniVersion":"1.0.0","ips":[
      {"address":"fd00::5/64"},{"address":"10.1.2.3/24","gateway":"10.1.2.1"}]})");
  EXPECT_EQ(cni_result_ips(v1), (std::vector<std::string>{"10.1.2.3", "fd00::5"}));
  auto v02 = nlohmann::json::parse(R"({"cniVersion":"0.2.0","ip4":{"ip":"10.9.8.7/16"}})");
  EXPECT_EQ(cni_result_ips(v02), (std::vector<std::string>{"10.9.8.7"}));
  EXPECT_TRUE(cni_result_ips(nlohmann::json::object()).empty());
}

TEST(Cni, WrongTypesInAConfigAreInvalidNotFatal) {
  TempDir dir;
  isolate::write_file_atomic(dir.path() + "/10-odd.conflist",
                             R"({"cniVersion":1,"name":5,"disabled":"no","plugins":[{"type":7}]})",
                             0644);
  isolate::write_file_atomic(dir.path() + "/20-good.conflist",
                             R"({"cniVersion":"1.0.0","name":"good","disableCheck":true,
                                 "plugins":[{"type":"bridge"}]})",
                             0644);
  auto load = load_cni_network(dir.path());
  ASSERT_TRUE(load.network);
  EXPECT_EQ(load.network->name, "good");
  EXPECT_TRUE(load.network->disable_check);
}

TEST(Cni, QuantitiesAsKubernetesWritesThem) {
  EXPECT_EQ(parse_quantity("10M"), 10000000u);
  EXPECT_EQ(parse_quantity("1Mi"), 1048576u);
  EXPECT_EQ(parse_quantity("1.5k"), 1500u);
  EXPECT_EQ(parse_quantity("100"), 100u);
  EXPECT_EQ(parse_quantity("2e3"), 2000u);
  EXPECT_EQ(parse_quantity("100m"), 1u);  // rounded up, as Quantity.Value() does
  EXPECT_EQ(parse_quantity("1G"), 1000000000u);
  for (const char* bad : {"", "M", "fast", "10MB", "1..2k", "-5", "1e"}) {
    EXPECT_THROW(parse_quantity(bad), std::invalid_argument) << bad;
  }
}

TEST(Cni, RuntimeConfigHasOnlyWhatThePluginAsksFor) {
  runtime::v1::PodSandboxConfig config;
  auto* port = config.add_port_mappings();
  port->set_protocol(runtime::v1::SCTP);
  port->set_container_port(9);
  port->set_host_port(9009);
  config.mutable_dns_config()->add_servers("10.0.0.10");
  (*config.mutable_annotations())["kubernetes.io/ingress-bandwidth"] = "1M";
  auto none = cni_runtime_config(nlohmann::json::object(), config, "10.1.0.0/16");
  EXPECT_EQ(none, nlohmann::json::object());
  auto ports_only = cni_runtime_config(nlohmann::json{{"portMappings", true}}, config, "");
  EXPECT_EQ(ports_only.dump(),
            R"({"portMappings":[{"containerPort":9,"hostPort":9009,"protocol":"sctp"}]})");
  auto shaping = cni_runtime_config(
      nlohmann::json{{"bandwidth", true}, {"ipRanges", true}, {"dns", "yes"}}, config, "");
  EXPECT_EQ(shaping.dump(), R"({"bandwidth":{"ingressBurst":4294967295,"ingressRate":1000000}})");
  (*config.mutable_annotations())["kubernetes.io/ingress-bandwidth"] = "999";
  EXPECT_THROW(pod_bandwidth(config), isolate::Error);
}

TEST(PodStats, NetDevCountersWithoutLoopback) {
  std::string text =
      "Inter-|   Receive                                                |  Transmit\n"
      " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs "
      "drop fifo colls carrier compressed\n"
      "    lo:     100       1    0    0    0     0          0         0      100       1    0 "
      "   0    0     0       0          0\n"
      "  eth0:    5326      43    2    0    0     0          0         0     1234      12    3 "
      "   0    0     0       0          0\n";
  auto interfaces = parse_net_dev(text);
  ASSERT_EQ(interfaces.size(), 1u);
  EXPECT_EQ(interfaces[0].name, "eth0");
  EXPECT_EQ(interfaces[0].rx_bytes, 5326u);
  EXPECT_EQ(interfaces[0].rx_errors, 2u);
  EXPECT_EQ(interfaces[0].tx_bytes, 1234u);
  EXPECT_EQ(interfaces[0].tx_errors, 3u);
}

// --- pods --------------------------------------------------------------------------------------

TEST(PodSandbox, SysctlsBelongToTheNamespaceThatHasThem) {
  EXPECT_EQ(sysctl_scope("net.ipv4.ip_forward"), SysctlScope::Net);
  EXPECT_EQ(sysctl_scope("net/ipv4/ip_forward"), SysctlScope::Net);
  EXPECT_EQ(sysctl_scope("kernel.shm_rmid_forced"), SysctlScope::Ipc);
  EXPECT_EQ(sysctl_scope("kernel.msgmax"), SysctlScope::Ipc);
  EXPECT_EQ(sysctl_scope("kernel.sem"), SysctlScope::Ipc);
  EXPECT_EQ(sysctl_scope("fs.mqueue.msg_max"), SysctlScope::Ipc);
  EXPECT_EQ(sysctl_scope("kernel.hostname"), SysctlScope::Uts);
  EXPECT_EQ(sysctl_scope("kernel.panic"), SysctlScope::None);
  EXPECT_EQ(sysctl_scope("vm.overcommit_memory"), SysctlScope::None);
  EXPECT_EQ(monitor::sysctl_path("net.ipv4.ip_forward"), "/proc/sys/net/ipv4/ip_forward");
  EXPECT_THROW(monitor::sysctl_path("net/../../etc/x"), std::invalid_argument);
  EXPECT_THROW(monitor::sysctl_path("net..x"), std::invalid_argument);
}

TEST(PodSandbox, HelperFlagsGiveTheOptionsBack) {
  monitor::PodSandboxOptions pod;
  pod.dir = "/run/x/ns";
  pod.net = pod.uts = pod.pid = true;
  pod.hostname = "h";
  pod.sysctls = {{"net.ipv4.ip_forward", "1"}, {"kernel.msgmax", "a=b"}};
  pod.sync_fd = 3;
  auto back = monitor::parse_pod_sandbox_flags(monitor::pod_sandbox_flags(pod));
  EXPECT_EQ(back.dir, pod.dir);
  EXPECT_TRUE(back.net && back.uts && back.pid && !back.ipc);
  EXPECT_EQ(back.hostname, "h");
  EXPECT_EQ(back.sysctls, pod.sysctls);
  EXPECT_THROW(monitor::parse_pod_sandbox_flags({"--dir", "/x"}), std::invalid_argument);

  monitor::MonitorOptions container;
  container.id = "abc";
  container.bundle = "/b";
  container.runtime = "/bin/hanok";
  container.runtime_root = "/r";
  container.log_path = "";
  container.exit_file = "/e/abc.json";
  container.tty = true;
  container.sync_fd = 3;
  auto same = monitor::parse_monitor_flags(monitor::monitor_flags(container));
  EXPECT_EQ(same.id, "abc");
  EXPECT_EQ(same.log_path, "");
  EXPECT_TRUE(same.tty);
  EXPECT_FALSE(same.stdin_open);
  EXPECT_THROW(monitor::parse_monitor_flags({"--id", "x"}), std::invalid_argument);
}

// A cgroup v2 pressure file as the CRI's PsiStats: totals from microseconds to nanoseconds.
TEST(PsiReader, ParsesSomeAndFull) {
  runtime::v1::PsiStats psi;
  ASSERT_TRUE(
      parse_psi("some avg10=1.50 avg60=0.25 avg300=0.00 total=123456\n"
                "full avg10=0.10 avg60=0.00 avg300=0.00 total=789\n",
                psi));
  EXPECT_DOUBLE_EQ(psi.some().avg10(), 1.5);
  EXPECT_DOUBLE_EQ(psi.some().avg60(), 0.25);
  EXPECT_EQ(psi.some().total(), 123456000u);
  EXPECT_DOUBLE_EQ(psi.full().avg10(), 0.1);
  EXPECT_EQ(psi.full().total(), 789000u);
  runtime::v1::PsiStats none;
  EXPECT_FALSE(parse_psi("", none));
  EXPECT_FALSE(read_psi("/nonexistent-cgroup", "cpu", none));
}

}  // namespace
}  // namespace hanok::cri
