// CgroupV2 on the real kernel: as root on a pure cgroup v2 host, so listed only there (the
// cgroup v2 VM leg runs it; test/common/test_main.cpp). By hand, from build/:
//   ../test/vm/vm-run -- ./test/hanok_unit_tests --gtest_filter='CgroupV2Live*'
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/magic.h>
#include <linux/sched.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>

#include "../../isolate/src/cgroup_v2.hpp"
#include "isolate/cgroup.hpp"
#include "isolate/error.hpp"
#include "isolate/files.hpp"

namespace hanok::isolate::cgroup {
namespace {

const std::string kRoot = "/sys/fs/cgroup";

bool pure_cgroup2_as_root() {
  struct statfs fs {};
  return ::geteuid() == 0 && ::statfs(kRoot.c_str(), &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

// A child that sleeps until killed.
pid_t spawn_sleeper() {
  pid_t pid = ::fork();
  if (pid == 0) {
    for (;;) ::pause();
  }
  return pid;
}

// Waits for child `pid`, up to 20 s (then SIGKILLs it and fails the test, rather than hang).
int wait_status(pid_t pid) {
  int status = 0;
  for (int tick = 0; tick < 2000; ++tick) {
    pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) return status;
    if (done < 0 && errno != EINTR) break;
    ::usleep(10000);
  }
  ADD_FAILURE() << "child " << pid << " did not exit";
  ::kill(pid, SIGKILL);
  ::waitpid(pid, &status, 0);
  return status;
}

// clone3(CLONE_INTO_CGROUP) a child running `body`; returns its exit code (-signal if killed).
int run_in_cgroup(int cgroup_fd, const std::function<int()>& body) {
  clone_args args{};
  args.flags = CLONE_INTO_CGROUP;
  args.exit_signal = SIGCHLD;
  args.cgroup = static_cast<uint64_t>(cgroup_fd);
  long pid = ::syscall(SYS_clone3, &args, sizeof args);
  if (pid < 0) return -1000;
  if (pid == 0) ::_exit(body());
  int status = wait_status(static_cast<pid_t>(pid));
  return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

// Bit 0: open("/dev/null", O_WRONLY) failed with EPERM; bit 1: O_RDONLY worked; bit 2:
// open("/dev/zero", O_WRONLY) worked.
int probe_devices() {
  int code = 0;
  int fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (fd < 0 && errno == EPERM) code |= 1;
  if (fd >= 0) ::close(fd);
  fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) code |= 2, ::close(fd);
  fd = ::open("/dev/zero", O_WRONLY | O_CLOEXEC);
  if (fd >= 0) code |= 4, ::close(fd);
  return code;
}

class CgroupV2Live : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!pure_cgroup2_as_root()) GTEST_SKIP() << "needs root on a pure cgroup v2 host";
    parent_ = "/hanok-test-" + std::to_string(::getpid());
    cgroup_ = make_cgroup_v2(parent_ + "/c1", kRoot);
    dir_ = kRoot + parent_ + "/c1";
  }
  void TearDown() override {
    if (!cgroup_) return;
    if (path_exists(dir_ + "/cgroup.kill")) {
      try {
        write_knob(dir_ + "/cgroup.kill", "1");
      } catch (...) {
      }
    }
    for (pid_t pid : children_) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    try {
      cgroup_->destroy();
    } catch (...) {
    }
    ::rmdir((kRoot + parent_).c_str());
  }
  std::string file(const std::string& name) { return trimmed(slurp(dir_ + "/" + name)); }

  std::string parent_;
  std::string dir_;
  std::unique_ptr<Cgroup> cgroup_;
  std::vector<pid_t> children_;
};

TEST_F(CgroupV2Live, LimitsProcessesFreezeKillDevicesDestroy) {
  cgroup_->create();
  ASSERT_TRUE(cgroup_->exists());
  for (const char* controller : {"cpu", "memory", "pids"})
    EXPECT_NE(slurp(kRoot + parent_ + "/cgroup.subtree_control").find(controller),
              std::string::npos)
        << controller;

  // --- limits
  Resources r;
  r.memory.emplace();
  r.memory->limit = 64 << 20;
  r.memory->reservation = 16 << 20;
  r.memory->swap = 64 << 20;  // memory+swap == memory: no swap
  r.cpu.emplace();
  r.cpu->shares = 512;
  r.cpu->quota = 20000;
  r.cpu->period = 100000;
  r.pids_limit = 32;
  r.unified["memory.high"] = "50331648";
  cgroup_->apply(r);
  EXPECT_EQ(file("memory.max"), "67108864");
  EXPECT_EQ(file("memory.low"), "16777216");
  if (path_exists(dir_ + "/memory.swap.max")) {
    EXPECT_EQ(file("memory.swap.max"), "0");
  }
  EXPECT_EQ(file("memory.high"), "50331648");
  EXPECT_EQ(file("cpu.weight"), "59");
  EXPECT_EQ(file("cpu.max"), "20000 100000");
  EXPECT_EQ(file("pids.max"), "32");

  Resources period_only;
  period_only.cpu.emplace();
  period_only.cpu->period = 50000;
  cgroup_->apply(period_only);
  EXPECT_EQ(file("cpu.max"), "20000 50000");

  Resources unlimited;
  unlimited.pids_limit = -1;
  cgroup_->apply(unlimited);
  EXPECT_EQ(file("pids.max"), "max");

  Resources bad;
  bad.unified["memory.nonexistent"] = "1";
  EXPECT_THROW(cgroup_->apply(bad), std::invalid_argument);
  bad.unified = {{"cpu.max", "bogus"}};
  try {
    cgroup_->apply(bad);
    ADD_FAILURE() << "the kernel took cpu.max \"bogus\"";
  } catch (const SysError& e) {
    EXPECT_EQ(e.error_code(), EINVAL);
    EXPECT_NE(std::string(e.what()).find(dir_ + "/cpu.max: write bogus: "), std::string::npos)
        << e.what();
  }

  // --- membership, freeze, thaw
  pid_t sleeper = spawn_sleeper();
  ASSERT_GT(sleeper, 0);
  children_.push_back(sleeper);
  cgroup_->add_process(sleeper);
  EXPECT_EQ(cgroup_->processes(), std::vector<pid_t>{sleeper});
  EXPECT_NE(slurp("/proc/" + std::to_string(sleeper) + "/cgroup").find("0::" + parent_ + "/c1"),
            std::string::npos);

  cgroup_->freeze();
  EXPECT_TRUE(cgroup_->frozen());
  EXPECT_NE(slurp(dir_ + "/cgroup.events").find("frozen 1"), std::string::npos);
  cgroup_->thaw();
  EXPECT_FALSE(cgroup_->frozen());

  Stats stats = cgroup_->stats();
  EXPECT_EQ(stats.pids.current, 1u);
  EXPECT_EQ(stats.pids.limit, 0u);  // "max"
  EXPECT_EQ(stats.memory.limit, 64u << 20);
  EXPECT_FALSE(stats.memory.raw.empty());  // memory.stat (usage may be 0: v2 charges stay put)
  EXPECT_EQ(cgroup_->oom_kill_count(), 0u);

  // --- kill_all: another signal goes through freeze, signal, thaw
  cgroup_->kill_all(SIGTERM);
  int status = wait_status(sleeper);
  children_.clear();
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGTERM);
  EXPECT_FALSE(cgroup_->frozen());

  // --- kill_all(SIGKILL): cgroup.kill
  sleeper = spawn_sleeper();
  ASSERT_GT(sleeper, 0);
  children_.push_back(sleeper);
  cgroup_->add_process(sleeper);
  cgroup_->kill_all(SIGKILL);
  status = wait_status(sleeper);
  children_.clear();
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGKILL);

  // --- devices: a child born in the cgroup (CLONE_INTO_CGROUP) may read /dev/null and write
  // /dev/zero, but not write /dev/null
  Resources devices;
  devices.devices = {DeviceRule{true, 'a', -1, -1, "rwm"}, DeviceRule{false, 'c', 1, 3, "w"}};
  cgroup_->apply(devices);
  int fd = cgroup_->clone_into_fd();
  EXPECT_EQ(run_in_cgroup(fd, probe_devices), 1 | 2 | 4);

  // The usual shape: deny all, allow some; re-applying replaces the program
  devices.devices = {DeviceRule{false, 'a', -1, -1, "rwm"}, DeviceRule{true, 'c', 1, 3, "r"},
                     DeviceRule{true, 'c', 1, 5, "rw"}};
  cgroup_->apply(devices);
  EXPECT_EQ(run_in_cgroup(fd, probe_devices), 1 | 2 | 4);
  devices.devices = {DeviceRule{true, 'a', -1, -1, "rwm"}};
  cgroup_->apply(devices);
  EXPECT_EQ(run_in_cgroup(fd, probe_devices), 2 | 4);  // the old program is gone

  // A long rule list passes the verifier too
  devices.devices = {DeviceRule{false, 'a', -1, -1, "rwm"}};
  for (int i = 0; i < 300; ++i)
    devices.devices.push_back(DeviceRule{true, 'c', 100 + i, -1, "rwm"});
  devices.devices.push_back(DeviceRule{true, 'c', 1, -1, "rw"});
  devices.devices.push_back(DeviceRule{false, 'c', 1, 3, "w"});
  cgroup_->apply(devices);
  EXPECT_EQ(run_in_cgroup(fd, probe_devices), 1 | 2 | 4);

  // --- destroy: the leaf only
  cgroup_->destroy();
  EXPECT_FALSE(cgroup_->exists());
  EXPECT_TRUE(path_exists(kRoot + parent_));
  EXPECT_EQ(::rmdir((kRoot + parent_).c_str()), 0);
  cgroup_->destroy();  // gone: fine
}

TEST_F(CgroupV2Live, DestroyWaitsForProcessesToDrain) {
  cgroup_->create();
  pid_t sleeper = spawn_sleeper();
  ASSERT_GT(sleeper, 0);
  children_.push_back(sleeper);
  cgroup_->add_process(sleeper);
  cgroup_->kill_all(SIGKILL);
  // Reaped concurrently; destroy retries on EBUSY until the process has left.
  std::thread reaper([&] { wait_status(sleeper); });
  cgroup_->destroy();
  reaper.join();
  children_.clear();
  EXPECT_FALSE(cgroup_->exists());
}

}  // namespace
}  // namespace hanok::isolate::cgroup
