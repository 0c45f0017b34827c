// Privileged integration tests: real containers from the busybox fixture, run through the
// hanok binary exactly as a user or a shim would call it.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace hanok::test {

struct Result {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs a program (no shell), capturing stdout and stderr. `dirs_from_fd3`: host directories the
// program finds open at fds 3, 4, ... (not close-on-exec), as a careless caller could leave them.
Result run_program(const std::vector<std::string>& argv,
                   const std::vector<std::string>& dirs_from_fd3 = {});

// A private state root, a bundle with a config.json based on `hanok spec`, and cleanup of every
// container the test made (by id, through the binary) and of both directories.
class ContainerTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // The config; root.path points at the test's own rootfs, terminal is off, args = ["true"].
  nlohmann::json& config() { return config_; }
  void set_args(const std::vector<std::string>& args) { config_["process"]["args"] = args; }
  void set_shell(const std::string& script) { set_args({"sh", "-c", script}); }
  void write_config();

  // `hanok --root <state> ARGS...` (writes config.json first), with `dirs_from_fd3` open.
  Result hanok(const std::vector<std::string>& args,
               const std::vector<std::string>& dirs_from_fd3 = {});
  // `hanok run ID` of the current config.
  Result run_container(const std::string& id = "c");
  // Starts `hanok run ID` in the background; returns its pid (reaped by wait_background).
  // With `stdout_fd`, the read end of a pipe that receives its stdout.
  pid_t spawn_hanok(const std::vector<std::string>& args, int* stdout_fd = nullptr);
  int wait_background(pid_t pid);
  nlohmann::json state(const std::string& id);
  // Polls `state` until the status matches (up to 5 s).
  bool wait_for_status(const std::string& id, const std::string& status);

  // Containers get the cgroup "/<test parent>/<id>" unless a test sets linux.cgroupsPath itself;
  // TearDown removes the parent.
  const std::string& cgroup_parent() const { return cgroup_parent_; }
  // Extra cgroups (below the hierarchy root) that TearDown removes, deepest first.
  void remove_cgroup_after(const std::string& path) { extra_cgroups_.push_back(path); }

  const std::string& bundle() const { return bundle_; }
  const std::string& state_root() const { return state_root_; }
  // The test's own rootfs: an overlay over the fixture (upper layer on a tmpfs of its own), or
  // a full copy where overlayfs cannot stack on the fixture's file system. What a container or
  // the test writes there never reaches the fixture or another test.
  const std::string& rootfs() const { return rootfs_; }

 private:
  void make_private_rootfs();

  std::string bundle_;
  std::string state_root_;
  std::string rootfs_;
  std::vector<std::string> test_mounts_;  // unmounted by TearDown, last first
  nlohmann::json config_;
  std::vector<std::string> ids_;
  std::vector<pid_t> background_;
  void prepare_config_for(const std::vector<std::string>& args);
  std::string cgroup_parent_;
  std::vector<std::string> extra_cgroups_;
};

std::string fixture_rootfs();
std::string hanok_binary();
// The process exists and is not a zombie (an exited container init may wait for its reaper).
bool process_running(pid_t pid);
// Whether process `pid`'s working directory is its root or below it, as the host sees it: ".."
// is walked up from the directory until the process's root (inside) or the top of the mount
// tree it is on (outside). True when the process is gone.
bool cwd_inside_root(pid_t pid);
// The value of a "Key:\tvalue" line of /proc/<pid>/status text.
std::string status_field(const std::string& status_text, const std::string& key);

}  // namespace hanok::test
