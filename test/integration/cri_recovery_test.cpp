// What a restarted hanokd makes of what it finds: a pod whose pinned namespaces are gone (their
// pins unmounted, or its PID 1 killed, as after a reboot or an admin's cleanup) is NOTREADY and
// can be stopped and removed leaving nothing; a CreateContainer cut short by a kill -9 of hanokd
// leaves either a whole container or nothing at all (no bundle, rootfs, lease, monitor or
// process).
#include <poll.h>
#include <sys/mount.h>
#include <sys/syscall.h>

#include <future>

#include "cri_fixture.hpp"
#include "images/sqlite.hpp"

namespace hanok::test {
namespace {

class CriRecovery : public CriFixture {
 protected:
  // hanokd started again on the same socket, root and state (its image is there already).
  ::testing::AssertionResult restart_daemon() { return launch_daemon(); }

  void kill_daemon() {
    ASSERT_EQ(::kill(daemon_->pid(), SIGKILL), 0);
    client_.reset();
    daemon_.reset();  // reaps it
  }

  nlohmann::json pod_info(const std::string& id) {
    return nlohmann::json::parse(cri().pod_status(id, true).info().at("info"));
  }

  // Processes (other than hanokd) whose command line names the test's container state: the
  // monitors, and any runtime call under way.
  std::vector<std::string> container_helpers() {
    std::vector<std::string> found;
    std::string marker = state_ + "/containers/";
    for (const auto& name : entries_of("/proc")) {
      if (name.find_first_not_of("0123456789") != std::string::npos) continue;
      if (daemon_ && name == std::to_string(daemon_->pid())) continue;
      auto cmdline = isolate::read_file_if_exists("/proc/" + name + "/cmdline");
      if (cmdline && contains(*cmdline, marker)) found.push_back(name);
    }
    return found;
  }

  // The processes and child cgroups left in the pod's cgroup (the memory hierarchy's, or the
  // unified one).
  std::string left_in_pod_cgroup(const std::string& pod_id) {
    std::string dir = pod_memory_cgroup(pod_id);
    std::string left = isolate::read_file_if_exists(dir + "/cgroup.procs").value_or("");
    for (const auto& entry : entries_of(dir)) {
      if (std::filesystem::is_directory(dir + "/" + entry)) left += " cgroup " + entry;
    }
    return left;
  }
};

// Waits (up to 20 s) for the process behind `pidfd` to end.
bool wait_gone(const isolate::UniqueFd& pidfd) {
  pollfd p{pidfd.get(), POLLIN, 0};
  return ::poll(&p, 1, 20000) == 1;
}

isolate::UniqueFd pidfd_of(pid_t pid) {
  return isolate::UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
}

TEST_F(CriRecovery, PodsWhosePinnedNamespacesAreGoneAreNotReady) {
  ASSERT_TRUE(start_daemon());
  Pod intact = run_pod("intact");
  // The kubelet's default (pid CONTAINER): net, ipc, uts and the pod init's PID namespace
  // pinned (as containerd's pause has one of its own).
  v1::PodSandboxConfig unpinned_config = pod_config("unpinned");
  unpinned_config.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(
      v1::CONTAINER);
  Pod unpinned = run_pod(unpinned_config);
  // A pod-wide PID namespace (its PID 1 hanok-pod-init), pinned too.
  v1::PodSandboxConfig shared_pid = pod_config("init-killed");
  shared_pid.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(
      v1::POD);
  Pod init_killed = run_pod(shared_pid);
  std::map<std::string, std::string> finished;  // pod id -> its exited container
  for (const Pod* pod : {&intact, &unpinned, &init_killed}) {
    v1::ContainerConfig config = container_config("done-" + pod->config.metadata().name(), "true");
    config.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(
        v1::CONTAINER);
    std::string id = run(*pod, config);
    ASSERT_TRUE(cri().wait_for_state(id, v1::CONTAINER_EXITED, 20s));
    finished[pod->id] = id;
  }
  std::string pins = state_ + "/pods/" + unpinned.id + "/ns";
  ASSERT_EQ(joined(sorted(mounts_below(pins))),
            joined(sorted({pins + "/net", pins + "/ipc", pins + "/uts", pins + "/pid"})));
  pid_t pod_init = pod_info(init_killed.id).value("pid", 0);
  ASSERT_GT(pod_init, 0);
  isolate::UniqueFd pod_init_fd = pidfd_of(pod_init);
  ASSERT_TRUE(pod_init_fd);
  // The init of the pod that loses its pins lives on until hanokd finds the pod broken.
  isolate::UniqueFd unpinned_init = pidfd_of(pod_info(unpinned.id).value("pid", 0));
  ASSERT_TRUE(unpinned_init);

  kill_daemon();
  // One pod loses its pins, the other its PID 1 (its pins stay), as after a reboot or a cleanup
  // of the node behind hanokd's back.
  for (const auto& pin : mounts_below(pins)) ASSERT_EQ(::umount2(pin.c_str(), MNT_DETACH), 0);
  ASSERT_EQ(::kill(pod_init, SIGKILL), 0);
  ASSERT_TRUE(wait_gone(pod_init_fd));
  // Reaped by its parent (the node's init), as on a node.
  ASSERT_TRUE(
      poll_until([&] { return !isolate::path_exists("/proc/" + std::to_string(pod_init)); }, 20s))
      << "the killed pod init " << pod_init << " was not reaped";
  ASSERT_TRUE(restart_daemon());

  EXPECT_EQ(cri().pod_status(intact.id).status().state(), v1::SANDBOX_READY);
  // Its PID namespace's pin is gone, yet hanokd knows its init (by its start time) and ends it.
  EXPECT_TRUE(wait_gone(unpinned_init)) << "the pod init outlived its pod";
  for (const Pod* pod : {&unpinned, &init_killed}) {
    const std::string& name = pod->config.metadata().name();
    EXPECT_EQ(cri().pod_status(pod->id).status().state(), v1::SANDBOX_NOTREADY) << name;
    // What was left of its namespaces is released.
    auto info = pod_info(pod->id);
    EXPECT_EQ(info["pinnedNamespaces"].dump(), "[]") << name;
    EXPECT_EQ(info.value("pid", -1), 0) << name;
    EXPECT_EQ(joined(mounts_below(state_ + "/pods/" + pod->id + "/ns"), "\n"), "") << name;
    // A NOTREADY pod takes no new container.
    CallOutcome refused = outcome_of([&] { create(*pod, container_config("late", kIdle)); });
    EXPECT_EQ(code_name(refused.code), "FAILED_PRECONDITION") << name << ": " << refused;
  }
  // The intact pod goes on.
  std::string next = run(intact, container_config("next", kIdle));
  EXPECT_EQ(output_of(next, "echo alive"), "alive");

  for (const Pod* pod : {&unpinned, &init_killed, &intact}) {
    cri().stop_pod(pod->id);
    cri().remove_pod(pod->id);
    EXPECT_CODE(grpc::StatusCode::NOT_FOUND, cri().container_status(finished[pod->id]));
  }
  EXPECT_TRUE(cri().list_pods().empty());
  for (const Pod* pod : {&unpinned, &init_killed, &intact}) expect_nothing_left(pod->id);
}

// Killed right before it recorded the container (the last step of a CreateContainer: the
// monitor had started it, its bundle, rootfs and lease were there), hanokd forgets nothing it
// made: at its restart the container is not listed and nothing of it is left.
TEST_F(CriRecovery, CreateKilledBeforeItsRecordLeavesNothing) {
  ASSERT_TRUE(start_daemon());
  Pod pod = run_pod("cut-short");
  std::string id = create(pod, container_config("cut", kIdle));
  auto info = nlohmann::json::parse(cri().container_status(id, true).info().at("info"));
  isolate::UniqueFd monitor = pidfd_of(info.value("monitorPid", 0));
  isolate::UniqueFd init = pidfd_of(info.value("pid", 0));
  ASSERT_TRUE(monitor && init);
  ASSERT_TRUE(isolate::path_exists(state_ + "/containers/" + id));

  kill_daemon();
  {
    // The store as the kill left it one step earlier: the record not yet written.
    auto db = images::sqlite::open_database(image_root() + "/metadata.db");
    images::sqlite::Stmt(db.get(), "DELETE FROM cri_containers WHERE id = ?", "forget it")
        .bind(1, id)
        .run();
  }
  ASSERT_TRUE(restart_daemon());

  EXPECT_TRUE(cri().list_containers().empty());
  EXPECT_TRUE(wait_gone(init)) << "the container's process still runs";
  EXPECT_TRUE(wait_gone(monitor)) << "the container's monitor still runs";
  EXPECT_EQ(joined(container_helpers()), "");
  EXPECT_EQ(left_in_pod_cgroup(pod.id), "");
  for (const char* sub : {"containers", "exits", "runtime"}) {
    EXPECT_EQ(joined(entries_of(state_ + "/" + sub)), "") << "left in " << sub;
  }
  EXPECT_EQ(joined(mounts_below(image_root()), "\n"), "");
  // Its name is free again, and its lease is gone: the image's layers go with the image.
  std::string again = create(pod, container_config("cut", kIdle));
  cri().remove_container(again);
  grpc::ClientContext context;
  v1::RemoveImageRequest request;
  request.mutable_image()->set_image(image());
  v1::RemoveImageResponse response;
  ASSERT_TRUE(cri().images().RemoveImage(&context, request, &response).ok());
  EXPECT_EQ(joined(entries_of(image_root() + "/snapshots")), "")
      << "a lease of the forgotten container kept the image's layers";
  cri().stop_pod(pod.id);
  cri().remove_pod(pod.id);
  expect_nothing_left(pod.id);
}

// hanokd killed at moments spread over a CreateContainer (from before the call reached it to
// after it answered): after the restart the container is either listed and whole (it starts,
// runs and is removed) or not there at all, and either way nothing of it is left once removed.
TEST_F(CriRecovery, CreateInterruptedAnywhereIsWholeOrGone) {
  ASSERT_TRUE(start_daemon());
  Pod pod = run_pod("interrupted");
  // How long one create takes here, to spread the kills over it.
  auto begun = Clock::now();
  cri().remove_container(create(pod, container_config("timing", kIdle)));
  auto one_create = Clock::now() - begun;
  int whole = 0;
  int gone = 0;
  for (int step = 0; step <= 8; ++step) {
    SCOPED_TRACE("kill at step " + std::to_string(step) + " of 8");
    CriClient caller(daemon_->socket(), 30s);
    v1::ContainerConfig config = container_config("cut-" + std::to_string(step), kIdle);
    auto call = std::async(std::launch::async, [&] {
      return outcome_of([&] { caller.create_container(pod.id, config, pod.config); });
    });
    std::this_thread::sleep_for(one_create * step / 8);
    kill_daemon();
    call.wait();
    ASSERT_TRUE(restart_daemon());
    std::vector<v1::Container> listed;
    ASSERT_NO_THROW(listed = cri().list_containers()) << daemon_->log();
    if (listed.empty()) {
      ++gone;
    } else {
      ASSERT_EQ(listed.size(), 1u);
      ++whole;
      std::string id = listed[0].id();
      EXPECT_EQ(listed[0].state(), v1::CONTAINER_CREATED);
      cri().start_container(id);
      EXPECT_EQ(output_of(id, "echo whole"), "whole");
      cri().stop_container(id, 0);
      cri().remove_container(id);
    }
    // A monitor told to end by the recovery may take a moment to go.
    poll_until([&] { return container_helpers().empty() && left_in_pod_cgroup(pod.id).empty(); },
               20s);
    EXPECT_EQ(joined(container_helpers()), "");
    EXPECT_EQ(left_in_pod_cgroup(pod.id), "");
    for (const char* sub : {"containers", "runtime"}) {
      EXPECT_EQ(joined(entries_of(state_ + "/" + sub)), "") << "left in " << sub;
    }
    EXPECT_EQ(joined(mounts_below(image_root()), "\n"), "");
  }
  // (How many of each depends on the machine's timing; each is checked above.)
  std::printf("interrupted creates: %d whole, %d gone\n", whole, gone);
  cri().stop_pod(pod.id);
  cri().remove_pod(pod.id);
  expect_nothing_left(pod.id);
}

}  // namespace
}  // namespace hanok::test
