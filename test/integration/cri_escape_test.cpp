// CVE-2024-21626's class through hanokd, as an attacker with a pod would try it: a working
// directory of /proc/self/fd/N, given in the container's config or planted as a symlink by a
// container of the pod in a volume they share, on every path where a process enters a container
// (create with and without a terminal, and the attach it serves; ExecSync; streaming exec with
// and without a terminal). Whatever fd N the process could hold, the call fails cleanly naming
// the working directory, and no process of the container has its cwd outside its root.
#include <sys/stat.h>

#include "cri_streaming_fixture.hpp"

namespace hanok::test {
namespace {

constexpr int kFirstFd = 3;
constexpr int kLastFd = 40;

class CriEscape : public CriStreamingFixture {
 protected:
  // The pod's shared volume, a directory of the test's, at /vol in each container.
  std::string volume() const { return dir_ + "/vol"; }
  v1::ContainerConfig with_volume(v1::ContainerConfig config) const {
    auto* mount = config.add_mounts();
    mount->set_container_path("/vol");
    mount->set_host_path(volume());
    return config;
  }

  // A container of the pod plants /vol/lN -> /proc/self/fd/N for every N, then idles.
  void plant_links(const Pod& pod) {
    ASSERT_EQ(::mkdir(volume().c_str(), 0777), 0);
    std::string planter =
        run(pod, with_volume(container_config(
                     "planter", "for n in $(seq " + std::to_string(kFirstFd) + " " +
                                    std::to_string(kLastFd) +
                                    "); do ln -sf /proc/self/fd/$n /vol/l$n; done; exec sleep "
                                    "100000")));
    ASSERT_TRUE(poll_until(
        [&] {
          struct stat st {};
          return ::lstat((volume() + "/l" + std::to_string(kLastFd)).c_str(), &st) == 0;
        },
        20s));
  }
};

std::vector<std::string> bad_directories(int n) {
  return {"/proc/self/fd/" + std::to_string(n), "/vol/l" + std::to_string(n)};
}

TEST_F(CriEscape, CreateWithAWorkingDirectoryThroughAnFd) {
  ASSERT_TRUE(start_daemon());
  Pod pod = run_pod("escape-create");
  ASSERT_NO_FATAL_FAILURE(plant_links(pod));
  std::string escapes;
  int index = 0;
  for (bool tty : {false, true}) {
    for (int n = kFirstFd; n <= kLastFd; ++n) {
      for (const auto& cwd : bad_directories(n)) {
        // With a terminal a shell, for what an attached user would see.
        v1::ContainerConfig config = with_volume(container_config(
            "victim-" + std::to_string(index++), tty ? "exec sh" : "exec sleep 100000"));
        config.set_tty(tty);
        config.set_stdin(tty);
        config.set_working_dir(cwd);
        std::string id;
        CallOutcome outcome = outcome_of([&] {
          id = create(pod, config);
          cri().start_container(id);
        });
        if (outcome.code == grpc::StatusCode::OK) {
          // What a user attached to it sees, for the failure message.
          auto seen = client(attach_url(id, true, true, false),
                             {"--tty", "--stdin", "pwd; ls ../../..; exit\n", "--keep-stdin", "1"});
          escapes += std::string(tty ? "tty " : "") + "working_dir " + cwd + " started;" +
                     processes_outside_root(id) + " outside: " + seen.value("stdout", "") + "\n";
          cri().remove_container(id);
          continue;
        }
        EXPECT_TRUE(contains(outcome.message, "process.cwd")) << cwd << ": " << outcome;
        if (!id.empty()) {  // created, its start refused: the init waited somewhere
          std::string outside = processes_outside_root(id);
          if (!outside.empty()) escapes += "working_dir " + cwd + " created;" + outside + "\n";
          cri().remove_container(id);
        }
      }
    }
  }
  EXPECT_EQ(escapes, "");
  // Nothing is left of the failed creates: the planter is the pod's only container.
  EXPECT_EQ(cri().list_containers().size(), 1U);
  EXPECT_EQ(entries_of(state_ + "/containers").size(), 1U)
      << joined(entries_of(state_ + "/containers"));
}

TEST_F(CriEscape, ExecIntoAPlantedSymlink) {
  ASSERT_TRUE(start_daemon());
  Pod pod = run_pod("escape-exec");
  ASSERT_EQ(::mkdir(volume().c_str(), 0777), 0);
  ASSERT_EQ(::mkdir((volume() + "/w").c_str(), 0777), 0);
  // Its working directory is /vol/w; on request it makes that a link to /proc/self/fd/N.
  v1::ContainerConfig config = with_volume(container_config(
      "target",
      "while :; do if [ -f /vol/next ]; then n=$(cat /vol/next); rm -rf /vol/w; "
      "ln -s /proc/self/fd/$n /vol/w; rm /vol/next; touch /vol/planted-$n; fi; sleep 0.02; "
      "done"));
  config.set_working_dir("/vol/w");
  std::string id = run(pod, config);
  std::string escapes;
  for (int n = kFirstFd; n <= kLastFd; ++n) {
    isolate::write_file_atomic(volume() + "/next", std::to_string(n), 0644);
    ASSERT_TRUE(poll_until(
        [&] { return isolate::path_exists(volume() + "/planted-" + std::to_string(n)); }, 20s));
    const std::vector<std::string> look = {"sh", "-c", "pwd; ls ../../.."};
    CallOutcome outcome = outcome_of([&] {
      auto response = cri().exec_sync(id, look, 20);
      if (response.exit_code() == 0) {
        escapes +=
            "ExecSync into /proc/self/fd/" + std::to_string(n) + ": " + response.stdout() + "\n";
      }
    });
    if (outcome.code != grpc::StatusCode::OK) {
      EXPECT_TRUE(contains(outcome.message, "process.cwd")) << n << ": " << outcome;
    }
    // Streaming exec runs the same `hanok exec` as ExecSync; what differs is what hanokd hands
    // it (the bundle directory at fd 3 with a terminal): the first fds suffice there.
    if (n > 12) continue;
    for (bool tty : {false, true}) {
      auto result =
          client(exec_url(id, look, false, true, !tty, tty),
                 tty ? std::vector<std::string>{"--tty"} : std::vector<std::string>{"--stderr"});
      if (status_of(result).value("status", "") == "Success") {
        escapes += std::string(tty ? "tty " : "") + "exec into /proc/self/fd/" + std::to_string(n) +
                   ": " + result.value("stdout", "") + "\n";
      } else {
        EXPECT_TRUE(contains(result.value("error", ""), "process.cwd")) << n << result.dump();
      }
    }
  }
  EXPECT_EQ(escapes, "");
  EXPECT_EQ(processes_outside_root(id), "");
  EXPECT_EQ(cri().container_status(id).status().state(), v1::CONTAINER_RUNNING);
}

}  // namespace
}  // namespace hanok::test
