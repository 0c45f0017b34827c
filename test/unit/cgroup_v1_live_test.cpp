// CgroupV1 on this host's real v1 hierarchies: only as root, and only when the host is not
// cgroup2-only. Everything lives below /hanok-test-<pid> in each hierarchy and is removed in
// TearDown, whatever failed.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <ctime>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "../common/require.hpp"
#include "isolate/cgroup.hpp"
#include "isolate/files.hpp"
#include "isolate/text.hpp"

namespace hanok::isolate::cgroup {
namespace {

constexpr const char* kCgroupRoot = "/sys/fs/cgroup";

// The lines of a list file as a set: the kernel keeps devices.list in an order of its own.
std::set<std::string> lines_of(const std::string& text) {
  std::set<std::string> lines;
  for (std::string_view line : split(text, "\n")) lines.emplace(line);
  return lines;
}

std::vector<std::string> subdirs(const std::string& dir) {
  std::vector<std::string> names;
  if (DIR* stream = ::opendir(dir.c_str())) {
    while (dirent* entry = ::readdir(stream)) {
      std::string name = entry->d_name;
      if (name != "." && name != ".." && entry->d_type == DT_DIR) names.push_back(name);
    }
    ::closedir(stream);
  }
  return names;
}

// rmdir bottom-up, retrying while exiting tasks drain.
void remove_cgroup_tree(const std::string& dir) {
  for (const std::string& name : subdirs(dir)) remove_cgroup_tree(dir + "/" + name);
  for (int attempt = 0; attempt < 100; ++attempt) {
    if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return;
    if (errno != EBUSY) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ADD_FAILURE() << "rmdir " << dir << ": " << std::strerror(errno);
}

class LiveV1 : public ::testing::Test {
 protected:
  void SetUp() override {
    HANOK_REQUIRE(::geteuid() == 0, "needs root");
    if (detect_mode() == Mode::Unified) GTEST_SKIP() << "this host has cgroup v2 only";
    parent_ = "/hanok-test-" + std::to_string(::getpid());
    cg_ = open_cgroup(parent_ + "/c1");
  }

  void TearDown() override {
    if (parent_.empty()) return;
    if (child_ > 0) {
      ::kill(child_, SIGKILL);
      // A frozen task dies only once thawed.
      std::string state = hierarchy_dir("freezer") + "/c1/freezer.state";
      if (path_exists(state)) write_knob(state, "THAWED");
      ::waitpid(child_, nullptr, 0);
    }
    for (const std::string& hierarchy : subdirs(kCgroupRoot)) {
      std::string dir = std::string(kCgroupRoot) + "/" + hierarchy + parent_;
      if (path_exists(dir)) remove_cgroup_tree(dir);
    }
  }

  // /sys/fs/cgroup/<controller>/hanok-test-<pid>
  std::string hierarchy_dir(const std::string& controller) const {
    return std::string(kCgroupRoot) + "/" + controller + parent_;
  }
  std::string knob(const std::string& controller, const std::string& file) const {
    std::string text = read_file(hierarchy_dir(controller) + "/c1/" + file);
    while (!text.empty() && text.back() == '\n') text.pop_back();
    return text;
  }

  // A child that waits for `go`, then uses some memory and CPU, reports on `ready`, and sleeps.
  void start_child() {
    ASSERT_EQ(::pipe2(go_, O_CLOEXEC), 0);
    ASSERT_EQ(::pipe2(ready_, O_CLOEXEC), 0);
    child_ = ::fork();
    ASSERT_GE(child_, 0);
    if (child_ == 0) {
      char byte = 0;
      if (::read(go_[0], &byte, 1) != 1) ::_exit(1);
      std::vector<char> memory(8 << 20);
      std::memset(memory.data(), 1, memory.size());
      while (std::clock() < CLOCKS_PER_SEC / 20) {
      }
      if (::write(ready_[1], "r", 1) != 1) ::_exit(1);
      for (;;) ::pause();
    }
    ::close(go_[0]);
    ::close(ready_[1]);
  }
  void let_child_run() {
    ASSERT_EQ(::write(go_[1], "g", 1), 1);
    char byte = 0;
    ASSERT_EQ(::read(ready_[0], &byte, 1), 1);
    ::close(go_[1]);
    ::close(ready_[0]);
  }

  std::string parent_;
  std::unique_ptr<Cgroup> cg_;
  pid_t child_ = -1;
  int go_[2] = {-1, -1};
  int ready_[2] = {-1, -1};
};

TEST_F(LiveV1, LimitsProcessesFreezeKillStatsDestroy) {
  EXPECT_EQ(cg_->mode(), detect_mode());
  EXPECT_FALSE(cg_->exists());
  cg_->create();
  ASSERT_TRUE(cg_->exists());
  EXPECT_NE(knob("cpuset", "cpuset.cpus"), "");  // copied down from the root
  EXPECT_NE(knob("cpuset", "cpuset.mems"), "");

  Resources r;
  r.memory.emplace();
  r.memory->limit = 64 << 20;
  r.cpu.emplace();
  r.cpu->shares = 512;
  r.cpu->quota = 50000;
  r.cpu->period = 100000;
  r.pids_limit = 10;
  r.devices = {{false, 'a', -1, -1, "rwm"},
               {true, 'c', 1, 5, "rwm"},
               {true, 'c', 1, 3, "rwm"},
               {false, 'c', 1, 3, "w"}};
  cg_->apply(r);
  EXPECT_EQ(knob("memory", "memory.limit_in_bytes"), "67108864");
  EXPECT_EQ(knob("cpu", "cpu.shares"), "512");
  EXPECT_EQ(knob("cpu", "cpu.cfs_quota_us"), "50000");
  EXPECT_EQ(knob("cpu", "cpu.cfs_period_us"), "100000");
  EXPECT_EQ(knob("pids", "pids.max"), "10");
  EXPECT_EQ(lines_of(knob("devices", "devices.list")), lines_of("c 1:5 rwm\nc 1:3 rm"));

  start_child();
  cg_->add_process(child_);
  std::vector<pid_t> pids = cg_->processes();
  EXPECT_NE(std::find(pids.begin(), pids.end(), child_), pids.end());
  if (detect_mode() == Mode::Hybrid) {
    EXPECT_EQ(read_file(hierarchy_dir("unified") + "/c1/cgroup.procs"),
              std::to_string(child_) + "\n");
  }
  let_child_run();

  cg_->freeze();
  EXPECT_TRUE(cg_->frozen());
  EXPECT_EQ(knob("freezer", "freezer.state"), "FROZEN");
  cg_->thaw();
  EXPECT_FALSE(cg_->frozen());
  EXPECT_EQ(knob("freezer", "freezer.state"), "THAWED");

  Stats s = cg_->stats();
  EXPECT_GT(s.cpu.usage_total_ns, 0u);
  EXPECT_FALSE(s.cpu.usage_per_cpu_ns.empty());
  EXPECT_GT(s.memory.usage, 0u);
  EXPECT_GT(s.memory.max_usage, 0u);
  EXPECT_EQ(s.memory.limit, 64u << 20);
  EXPECT_GT(s.memory.raw.size(), 10u);
  EXPECT_EQ(s.pids.current, 1u);
  EXPECT_EQ(s.pids.limit, 10u);
  EXPECT_EQ(s.oom_kills, 0u);
  EXPECT_EQ(cg_->oom_kill_count(), 0u);

  cg_->kill_all(SIGKILL);
  int status = 0;
  ASSERT_EQ(::waitpid(child_, &status, 0), child_);
  child_ = -1;
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
  EXPECT_TRUE(cg_->processes().empty());
  EXPECT_FALSE(cg_->frozen());

  cg_->destroy();
  EXPECT_FALSE(cg_->exists());
  for (const std::string& hierarchy : subdirs(kCgroupRoot)) {
    EXPECT_FALSE(path_exists(hierarchy_dir(hierarchy) + "/c1")) << hierarchy;
  }
  EXPECT_TRUE(path_exists(hierarchy_dir("memory")));  // parents are the caller's
  cg_->destroy();                                     // already gone: fine
}

// Raising both limits above the current memsw needs memsw written first; lowering needs the
// limit first. Both orders must succeed.
TEST_F(LiveV1, MemoryAndSwapInEitherDirection) {
  cg_->create();
  if (!path_exists(hierarchy_dir("memory") + "/c1/memory.memsw.limit_in_bytes")) {
    GTEST_SKIP() << "no swap accounting on this kernel";
  }
  struct Step {
    int64_t limit;
    int64_t swap;
  };
  for (Step step : {Step{64 << 20, 128 << 20}, Step{256 << 20, 512 << 20}, Step{32 << 20, 32 << 20},
                    Step{-1, -1}, Step{16 << 20, 64 << 20}}) {
    Resources r;
    r.memory.emplace();
    r.memory->limit = step.limit;
    r.memory->swap = step.swap;
    ASSERT_NO_THROW(cg_->apply(r)) << step.limit << " " << step.swap;
    if (step.limit > 0) {
      EXPECT_EQ(knob("memory", "memory.limit_in_bytes"), std::to_string(step.limit));
      EXPECT_EQ(knob("memory", "memory.memsw.limit_in_bytes"), std::to_string(step.swap));
    }
  }
  cg_->destroy();
}

TEST_F(LiveV1, DevicesResetAndWildcards) {
  cg_->create();
  Resources r;
  r.devices = {{false, 'a', -1, -1, "rwm"}, {true, 'c', -1, -1, "m"}, {true, 'b', 8, -1, "r"}};
  cg_->apply(r);
  EXPECT_EQ(lines_of(knob("devices", "devices.list")), lines_of("c *:* m\nb 8:* r"));
  r.devices = {{true, 'a', -1, -1, "rwm"}};
  cg_->apply(r);
  EXPECT_EQ(knob("devices", "devices.list"), "a *:* rwm");
  cg_->destroy();
}

}  // namespace
}  // namespace hanok::isolate::cgroup
