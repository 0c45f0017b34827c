// Hostile images and configs: what an attacker controls (the image's files, a volume shared with
// another container, a config that omits things) must never reach the host.
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <thread>

#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>
#include <filesystem>

#include "harness.hpp"
#include "isolate/console.hpp"
#include "isolate/files.hpp"
#include "isolate/unique_fd.hpp"
#include "require.hpp"

namespace hanok::test {
namespace {

using Escape = ContainerTest;

// The config without the /dev tmpfs and the mounts below it: the container sees the image's /dev.
void use_the_images_dev(nlohmann::json& config) {
  nlohmann::json kept = nlohmann::json::array();
  for (const auto& mount : config["mounts"]) {
    if (mount["destination"].get<std::string>().rfind("/dev", 0) != 0) kept.push_back(mount);
  }
  config["mounts"] = kept;
}

TEST_F(Escape, MaskedPathsBindTheHostsNullDeviceNotTheImages) {
  // The image's /dev/null is a symlink to a file with content (in CVE-2025-31133 it pointed at
  // /proc/sys/kernel/core_pattern, which made a masked path a writable view of the host's).
  use_the_images_dev(config());
  std::string dev = rootfs() + "/dev";
  ::unlink((dev + "/null").c_str());
  ASSERT_EQ(::symlink("/etc/fixture-data/hello.txt", (dev + "/null").c_str()), 0);
  config()["linux"]["maskedPaths"] = {"/etc/passwd"};
  set_shell("wc -c < /etc/passwd; stat -c %t:%T /etc/passwd");
  Result r = run_container();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "0\n1:3\n");

  // A regular file, or a device node of another kind, named /dev/null is never bound either.
  ::unlink((dev + "/null").c_str());
  ASSERT_EQ(::mknod((dev + "/null").c_str(), S_IFCHR | 0666, makedev(1, 5)), 0);  // zero
  set_shell("head -c 4 /etc/passwd | wc -c; stat -c %t:%T /etc/passwd");
  r = run_container("c2");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "0\n1:3\n");
}

TEST_F(Escape, NoCapabilitiesObjectMeansNoCapabilities) {
  config()["process"].erase("capabilities");
  set_shell("grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb)' /proc/self/status");
  Result r = run_container();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* set : {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"}) {
    EXPECT_EQ(status_field(r.out, set), "0000000000000000") << set << " in\n" << r.out;
  }
}

TEST_F(Escape, WithoutDeviceRulesHostDevicesStayDenied) {
  // Devices the host's root can open but runc's default rules do not allow: the loop device
  // control (attach host files as block devices) and fuse.
  for (const char* device : {"/dev/loop-control", "/dev/fuse"}) {
    HANOK_REQUIRE(::access(device, R_OK | W_OK) == 0,
                  device << " is not usable here (the VM loads the loop and fuse modules)");
  }
  // No linux.resources at all, and CAP_MKNOD: the device cgroup still denies what runc denies.
  config()["linux"].erase("resources");
  nlohmann::json caps = {"CAP_MKNOD", "CAP_DAC_OVERRIDE"};
  config()["process"]["capabilities"] = {
      {"bounding", caps}, {"effective", caps}, {"permitted", caps}};
  set_shell(
      "mknod /dev/lc c 10 237 && mknod /dev/fs c 10 229 && echo made; "
      "(exec 3<>/dev/lc) && echo loop-control; (exec 3<>/dev/fs) && echo fuse; "
      "head -c 1 /dev/zero | wc -c");
  Result r = run_container();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("Operation not permitted"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "made\n1\n");  // both refused; the default devices still work
}

// A read-only bind whose destination lies in a volume the attacker (another container sharing
// it) can change: a symlink swapped in after the mount must not carry the read-only attribute
// onto another mount. The bind the container gets is read-only, every time.
TEST_F(Escape, ReadOnlyBindStaysReadOnlyWhileAVolumeSymlinkIsSwapped) {
  std::string volume = bundle() + "/volume";
  std::string source = bundle() + "/readonly-source";
  ASSERT_EQ(::mkdir(volume.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(source.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((volume + "/real").c_str(), 0755), 0);
  // The symlink leads to another mount's root (the container's /dev/shm tmpfs).
  ASSERT_EQ(::symlink("/dev/shm", (volume + "/link").c_str()), 0);
  config()["root"]["readonly"] = false;
  config()["mounts"].push_back({{"destination", "/vol"},
                                {"type", "bind"},
                                {"source", volume},
                                {"options", {"rbind", "rw"}}});
  config()["mounts"].push_back({{"destination", "/vol/target"},
                                {"type", "bind"},
                                {"source", source},
                                {"options", {"bind", "ro"}}});
  // Wherever the bind landed (the volume's directory, under either name, or /dev/shm through
  // the symlink), the source's marker is there and nothing can be written next to it.
  isolate::write_file_atomic(source + "/marker", "ro\n", 0644);
  // (cd first: the names keep changing while the shell looks, the directory it is in does not.)
  set_shell(
      "for d in /vol/target /vol/real /dev/shm; do (cd $d 2>/dev/null && [ -e marker ] && "
      "{ touch probe 2>/dev/null && echo rw $d || echo ro $d; }); done; true");
  std::atomic<bool> stop{false};
  std::thread attacker([&] {
    std::string target = volume + "/target";
    for (bool real = false; !stop; real = !real) {
      // rename(2) swaps atomically between a directory and a symlink out of the mount.
      if (real) {
        ::rename((volume + "/real").c_str(), target.c_str());
        ::rename(target.c_str(), (volume + "/real").c_str());
      } else {
        ::rename((volume + "/link").c_str(), target.c_str());
        ::rename(target.c_str(), (volume + "/link").c_str());
      }
    }
  });
  int read_only = 0;
  std::string failures;
  for (int i = 0; i < 40; ++i) {
    Result r = run_container("swap" + std::to_string(i));
    if (r.exit_code != 0) continue;  // the swap can make a mount target vanish: a clean failure
    if (r.out.find("rw ") != std::string::npos) failures += r.out;
    if (r.out.find("ro ") != std::string::npos) ++read_only;
  }
  stop = true;
  attacker.join();
  EXPECT_TRUE(failures.empty()) << "writable binds of the read-only source:\n" << failures;
  EXPECT_GT(read_only, 0);
}

// An image (or a volume another container shares) can make a mount's destination a symlink into
// /proc: the mount would then cover a kernel file (/proc/sys/kernel/core_pattern, say) with a
// file of the host's or a tmpfs. Where a target resolves, not what it is called, is checked.
TEST_F(Escape, AMountNeverLandsInProcThroughASymlink) {
  ASSERT_EQ(::symlink("/proc/sys/kernel", (rootfs() + "/etc/kernel").c_str()), 0);
  ASSERT_EQ(::symlink("/proc/sys/kernel/core_pattern", (rootfs() + "/etc/pattern").c_str()), 0);
  std::string source = bundle() + "/source";
  ASSERT_EQ(::mkdir(source.c_str(), 0755), 0);
  isolate::write_file_atomic(bundle() + "/file", "|/host/program\n", 0644);
  set_shell("cat /proc/sys/kernel/core_pattern");
  auto mounts = config()["mounts"];
  for (const auto& [destination, mount] : std::vector<std::pair<std::string, nlohmann::json>>{
           {"/etc/kernel", {{"type", "bind"}, {"source", source}, {"options", {"rbind"}}}},
           {"/etc/kernel", {{"type", "tmpfs"}, {"source", "tmpfs"}}},
           {"/etc/pattern",
            {{"type", "bind"}, {"source", bundle() + "/file"}, {"options", {"bind"}}}},
       }) {
    config()["mounts"] = mounts;
    nlohmann::json entry = mount;
    entry["destination"] = destination;
    config()["mounts"].push_back(entry);
    Result r =
        run_container("m" + std::to_string(config()["mounts"].size()) + mount.value("type", ""));
    EXPECT_NE(r.exit_code, 0) << destination << " mounted: " << r.out;
    EXPECT_NE(r.err.find("resolves to a path inside /proc"), std::string::npos) << r.err;
  }
}

// CVE-2024-21626's class: a directory of the host open in the process that enters the container
// (left by the caller, or the runtime's own) is a way out through /proc/self/fd/N when the
// process changes into its working directory. Every N a process could hold, named directly or
// through a symlink a container planted, with and without a terminal: the create fails, naming
// the working directory, and no process of the container ever has its cwd outside its root.
constexpr int kFirstFd = 3;
constexpr int kLastFd = 40;

std::string cwd_of(pid_t pid) {
  std::error_code error;
  return std::filesystem::read_symlink("/proc/" + std::to_string(pid) + "/cwd", error).string();
}

// Host directories at fds 3..40 of `hanok`, as a careless caller could leave them.
std::vector<std::string> host_dirs_at_every_fd(const std::string& dir) {
  return std::vector<std::string>(kLastFd - kFirstFd + 1, dir);
}

// A console socket that takes every pty master sent to it and keeps it (the terminal is of no
// interest here), so that any number of terminal creates can use it.
class ConsoleSink {
 public:
  explicit ConsoleSink(const std::string& path) : path_(path) {
    listener_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
    EXPECT_EQ(::bind(listener_.get(), reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    EXPECT_EQ(::listen(listener_.get(), 64), 0);
    thread_ = std::thread([this] {
      while (!stop_) {
        isolate::UniqueFd connection(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
        if (!connection) {
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
          continue;
        }
        try {
          // Kept: a master closed at once would hang the terminal up (SIGHUP) under the process.
          masters_.push_back(isolate::receive_fd(connection.get()));
        } catch (const std::exception&) {
        }
      }
    });
  }
  ~ConsoleSink() {
    stop_ = true;
    thread_.join();
  }
  ConsoleSink(const ConsoleSink&) = delete;
  ConsoleSink& operator=(const ConsoleSink&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  isolate::UniqueFd listener_;
  std::atomic<bool> stop_{false};
  std::vector<isolate::UniqueFd> masters_;
  std::thread thread_;
};

// What plants /lnk/N -> /proc/self/fd/N for every N from inside a container (the rootfs keeps
// them for the containers after it).
std::string plant_fd_links_script() {
  return "mkdir -p /lnk && for n in $(seq " + std::to_string(kFirstFd) + " " +
         std::to_string(kLastFd) + "); do ln -sf /proc/self/fd/$n /lnk/$n; done";
}

TEST_F(Escape, WorkingDirectoryThroughAnOpenFdNeverLeavesTheRoot) {
  config()["root"]["readonly"] = false;
  set_shell(plant_fd_links_script());
  Result planted = run_container("planter");
  ASSERT_EQ(planted.exit_code, 0) << planted.err;
  ConsoleSink console(bundle() + "/console.sock");
  auto host_dirs = host_dirs_at_every_fd(state_root());
  std::string escapes;
  int created = 0;
  for (bool tty : {false, true}) {
    config()["process"]["terminal"] = tty;
    for (int n = kFirstFd; n <= kLastFd; ++n) {
      for (const std::string& cwd :
           {"/proc/self/fd/" + std::to_string(n), "/lnk/" + std::to_string(n)}) {
        config()["process"]["cwd"] = cwd;
        set_shell("sleep 1000");
        std::string id =
            std::string(tty ? "t" : "p") + std::to_string(n) + (cwd[1] == 'l' ? "l" : "d");
        std::vector<std::string> args = {"create", "--bundle", bundle()};
        if (tty) args.insert(args.end(), {"--console-socket", console.path()});
        args.push_back(id);
        Result r = hanok(args, host_dirs);
        if (r.exit_code == 0) {
          ++created;
          auto doc = state(id);
          pid_t pid = doc.is_null() ? -1 : doc["pid"].get<pid_t>();
          if (pid > 0 && !cwd_inside_root(pid)) {
            escapes += id + " (cwd " + cwd + ") -> " + cwd_of(pid) + "\n";
          }
          hanok({"delete", "--force", id});
          continue;
        }
        EXPECT_NE(r.err.find("process.cwd"), std::string::npos) << id << ": " << r.err;
        EXPECT_FALSE(isolate::path_exists(state_root() + "/" + id)) << id << " left its state";
      }
    }
  }
  EXPECT_EQ(escapes, "") << "containers whose working directory is on the host";
  EXPECT_EQ(created, 0) << "creates with a working directory through /proc/self/fd succeeded";
}

TEST_F(Escape, ExecWorkingDirectoryThroughAnOpenFdNeverLeavesTheRoot) {
  config()["root"]["readonly"] = false;
  set_shell(plant_fd_links_script());
  Result planted = run_container("planter");
  ASSERT_EQ(planted.exit_code, 0) << planted.err;
  ConsoleSink console(bundle() + "/console.sock");
  set_shell("exec sleep 1000");
  config()["process"]["cwd"] = "/";
  ASSERT_EQ(hanok({"create", "--bundle", bundle(), "box"}).exit_code, 0);
  ASSERT_EQ(hanok({"start", "box"}).exit_code, 0);
  auto host_dirs = host_dirs_at_every_fd(state_root());
  std::string escapes;
  for (bool tty : {false, true}) {
    for (int n = kFirstFd; n <= kLastFd; ++n) {
      for (const std::string& cwd :
           {"/proc/self/fd/" + std::to_string(n), "/lnk/" + std::to_string(n)}) {
        // Detached, so that a process that got in stays there to be looked at.
        std::vector<std::string> args = {"exec", "--detach", "--cwd", cwd};
        if (tty) args.insert(args.end(), {"--tty", "--console-socket", console.path()});
        args.insert(args.end(), {"box", "sleep", "1000"});
        Result r = hanok(args, host_dirs);
        if (r.exit_code == 0) {
          escapes += std::string(tty ? "tty " : "") + "exec --cwd " + cwd + " succeeded\n";
        } else {
          EXPECT_NE(r.err.find("process.cwd"), std::string::npos) << cwd << ": " << r.err;
        }
      }
    }
  }
  // Whatever got in: every process of the container, seen from the host.
  Result ps = hanok({"ps", "--format", "json", "box"});
  ASSERT_EQ(ps.exit_code, 0) << ps.err;
  for (const auto& pid : nlohmann::json::parse(ps.out)) {
    if (!cwd_inside_root(pid.get<pid_t>())) {
      escapes += "pid " + std::to_string(pid.get<pid_t>()) +
                 " has its cwd on the host: " + cwd_of(pid.get<pid_t>()) + "\n";
    }
  }
  EXPECT_EQ(escapes, "");
}

// A preserved fd is the caller's to give, and may be a directory of the host: the container may
// hold it, but its working directory never leaves the root through it (the cwd is checked after
// chdir, as runc does).
TEST_F(Escape, WorkingDirectoryOutsideTheRootIsRefusedAfterChdir) {
  config()["process"]["cwd"] = "/proc/self/fd/3";
  set_shell("pwd");
  Result r = hanok({"run", "--preserve-fds", "1", "--bundle", bundle(), "kept"}, {state_root()});
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_NE(r.err.find("possible container breakout detected"), std::string::npos) << r.err;
  set_shell("exec sleep 1000");
  config()["process"]["cwd"] = "/";
  ASSERT_EQ(hanok({"run", "--detach", "--bundle", bundle(), "box"}).exit_code, 0);
  r = hanok({"exec", "--preserve-fds", "1", "--cwd", "/proc/self/fd/3", "box", "pwd"},
            {state_root()});
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_NE(r.err.find("possible container breakout detected"), std::string::npos) << r.err;
}

// The same class at the fds themselves: what the container's process holds once it runs is
// stdio and nothing else, whatever its caller left open (no directory, no cgroup, no log).
TEST_F(Escape, ProcessesHoldNoFdOfTheHost) {
  set_shell("ls /proc/self/fd | sort -n | tr '\\n' ' '");
  Result r = hanok({"run", "--bundle", bundle(), "fds"}, host_dirs_at_every_fd(state_root()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "0 1 2 3 ") << "fd 3 is ls's own listing";
  set_shell("exec sleep 1000");
  ASSERT_EQ(hanok({"run", "--detach", "--bundle", bundle(), "box"}).exit_code, 0);
  r = hanok({"exec", "box", "sh", "-c", "ls /proc/self/fd | sort -n | tr '\\n' ' '"},
            host_dirs_at_every_fd(state_root()));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "0 1 2 3 ");
}

}  // namespace
}  // namespace hanok::test
