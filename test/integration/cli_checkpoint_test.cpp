// `hanok checkpoint` and `hanok restore` (runc's commands) with their flags, on a busybox counter
// in a container of its own: a dump stops it (or, with --leave-running, does not), CRIU's images
// go to --image-path and its log to --work-path, and a restore from them with --bundle and
// --pid-file runs the counter on from where it was. CRIU does not run on every kernel (not on
// this build host's): test/common/test_main.cpp lists CliCheckpoint.* in the VM leg only.
#include <unistd.h>

#include <thread>

#include "cri_fixture.hpp"
#include "isolate/files.hpp"

namespace hanok::test {
namespace {

constexpr const char* kCounter = "i=0; while :; do i=$((i+1)); echo $i > /count; sleep 0.1; done";

class CliCheckpoint : public ContainerTest {
 protected:
  void SetUp() override {
    ContainerTest::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    Result check = run_program({isolate::find_criu(), "check"});
    ASSERT_EQ(check.exit_code, 0) << "criu check: " << check.out << check.err;
    set_shell(kCounter);
    config()["root"]["readonly"] = false;  // the counter writes /count
  }
  void TearDown() override {
    for (const auto& id : made_) hanok({"delete", "--force", id});
    ContainerTest::TearDown();
  }

  // `hanok create` + `hanok start` of the counter as `id`, its stdio pipes (as a shim or
  // hanokd's monitor gives them: CRIU takes pipes as external, where a host file such as
  // /dev/null would be a file of a mount the container does not have).
  void start_counter(const std::string& id) {
    use_cgroup_of(id);
    made_.push_back(id);
    Result created = run_program({"/bin/sh", "-c", "true | exec \"$0\" \"$@\"", hanok_binary(),
                                  "--root", state_root(), "create", "--bundle", bundle(), id});
    ASSERT_EQ(created.exit_code, 0) << created.out << created.err;
    Result started = hanok({"start", id});
    ASSERT_EQ(started.exit_code, 0) << started.err;
  }

  // The container's cgroup below the test's parent, as ContainerTest gives a created one.
  void use_cgroup_of(const std::string& id) {
    config()["linux"]["cgroupsPath"] = cgroup_parent() + "/" + id;
    write_config();
  }

  int count() {
    auto text = isolate::read_file_if_exists(rootfs() + "/count").value_or("");
    try {
      return std::stoi(text);
    } catch (const std::exception&) {
      return 0;
    }
  }
  // Waits (up to 20 s) until the counter shows more than `floor`; returns what it shows.
  int count_beyond(int floor) {
    poll_until([&] { return count() > floor; }, std::chrono::seconds(20));
    return count();
  }

  pid_t pid_of(const std::string& id) {
    auto doc = state(id);
    return doc.is_object() ? doc.value("pid", 0) : 0;
  }

  std::vector<std::string> made_;
};

TEST_F(CliCheckpoint, DumpStopsTheContainerAndRestoreRunsItOn) {
  ASSERT_NO_FATAL_FAILURE(start_counter("counted"));
  ASSERT_GE(count_beyond(10), 10);
  pid_t dumped_pid = pid_of("counted");
  ASSERT_GT(dumped_pid, 0);

  std::string images = bundle() + "/images";
  std::string work = bundle() + "/work";
  Result dumped = hanok({"checkpoint", "--image-path", images, "--work-path", work, "counted"});
  ASSERT_EQ(dumped.exit_code, 0) << dumped.err;
  // The container ended with the dump; CRIU's images in one place, its log in the other.
  EXPECT_EQ(state("counted").value("status", ""), "stopped");
  EXPECT_FALSE(process_running(dumped_pid));
  EXPECT_TRUE(isolate::path_exists(images + "/inventory.img"));
  EXPECT_TRUE(isolate::path_exists(work + "/dump.log"));
  EXPECT_FALSE(isolate::path_exists(images + "/dump.log"));
  int at_dump = count();
  ASSERT_GE(at_dump, 10);
  ASSERT_EQ(hanok({"delete", "counted"}).exit_code, 0);

  // Restored under another id from the bundle, its pid where --pid-file says.
  std::string restore_work = bundle() + "/restore-work";
  std::string pid_file = bundle() + "/restored.pid";
  use_cgroup_of("restored");
  made_.push_back("restored");
  Result restored = hanok({"restore", "--image-path", images, "--work-path", restore_work,
                           "--bundle", bundle(), "--pid-file", pid_file, "--detach", "restored"});
  ASSERT_EQ(restored.exit_code, 0) << restored.err;
  EXPECT_TRUE(isolate::path_exists(restore_work + "/restore.log"));
  auto doc = state("restored");
  ASSERT_TRUE(doc.is_object());
  EXPECT_EQ(doc.value("status", ""), "running");
  pid_t pid = doc.value("pid", 0);
  EXPECT_EQ(isolate::read_file_if_exists(pid_file).value_or(""), std::to_string(pid));
  EXPECT_TRUE(process_running(pid));
  // It counts on from the dumped value (a fresh start would write 1, 2, ...).
  EXPECT_GT(count_beyond(at_dump), at_dump);
  int later = count_beyond(at_dump + 5);
  EXPECT_GT(later, at_dump + 5);
  // Its shell is the dumped one: the same pid inside its PID namespace (1), and it is stopped
  // as any container.
  ASSERT_EQ(hanok({"kill", "restored", "KILL"}).exit_code, 0);
  poll_until([&] { return !process_running(pid); }, std::chrono::seconds(10));
  EXPECT_FALSE(process_running(pid));
}

TEST_F(CliCheckpoint, LeaveRunningDumpsAndTheContainerGoesOn) {
  ASSERT_NO_FATAL_FAILURE(start_counter("kept"));
  ASSERT_GE(count_beyond(5), 5);
  pid_t pid = pid_of("kept");
  std::string images = bundle() + "/images";
  Result dumped = hanok({"checkpoint", "--leave-running", "--image-path", images, "kept"});
  ASSERT_EQ(dumped.exit_code, 0) << dumped.err;
  // No --work-path: the log is with the images.
  EXPECT_TRUE(isolate::path_exists(images + "/dump.log"));
  EXPECT_TRUE(isolate::path_exists(images + "/inventory.img"));
  EXPECT_EQ(state("kept").value("status", ""), "running");
  EXPECT_EQ(pid_of("kept"), pid);
  int at_dump = count();
  EXPECT_GT(count_beyond(at_dump + 3), at_dump + 3) << "the counter stopped at the dump";

  // The images are whole: the counter restored from them (once the original is gone) runs on.
  ASSERT_EQ(hanok({"kill", "kept", "KILL"}).exit_code, 0);
  poll_until([&] { return !process_running(pid); }, std::chrono::seconds(10));
  ASSERT_EQ(hanok({"delete", "--force", "kept"}).exit_code, 0);
  use_cgroup_of("again");
  made_.push_back("again");
  Result restored = hanok({"restore", "--image-path", images, "--bundle", bundle(), "again"});
  ASSERT_EQ(restored.exit_code, 0) << restored.err;
  EXPECT_EQ(state("again").value("status", ""), "running");
  int at_restore = count();
  EXPECT_GT(count_beyond(at_restore), at_restore);
}

// Before CRIU runs (so on any kernel): an unknown container, or one that is not running, has
// nothing to dump, and nothing is written.
using CliCheckpointRefusals = ContainerTest;

TEST_F(CliCheckpointRefusals, OnlyARunningContainerIsDumped) {
  Result missing = hanok({"checkpoint", "--image-path", bundle() + "/images", "nosuch"});
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_TRUE(contains(missing.err, "does not exist")) << missing.err;

  ASSERT_EQ(hanok({"create", "--bundle", bundle(), "created"}).exit_code, 0);
  Result not_running = hanok({"checkpoint", "--image-path", bundle() + "/images", "created"});
  EXPECT_NE(not_running.exit_code, 0);
  EXPECT_TRUE(contains(not_running.err, "not running")) << not_running.err;
  EXPECT_FALSE(isolate::path_exists(bundle() + "/images/inventory.img"));
}

}  // namespace
}  // namespace hanok::test
