// Checkpoint and restore through hanokd (CheckpointContainer, CheckpointPod, RestorePod): bad
// requests refused naming the field and leaving nothing behind; on a host where CRIU cannot run
// (this build host's kernel is newer than Debian 12's CRIU understands) a clear
// FAILED_PRECONDITION; where it can (the cgroup v2 VM), a busybox counter checkpointed and
// restored in a new pod, continuing its count, with the files it wrote and deleted.
#include <sys/stat.h>

#include "cri_streaming_fixture.hpp"
#include "isolate/spawn.hpp"

namespace hanok::test {
namespace {

using namespace std::chrono_literals;

class CriCheckpoint : public CriStreamingFixture {
 protected:
  grpc::Status checkpoint_pod(const std::string& pod_id, const std::string& output,
                              const std::vector<std::string>& ids) {
    v1::CheckpointPodRequest request;
    request.set_pod_sandbox_id(pod_id);
    request.set_output_path(output);
    for (const auto& id : ids) request.add_container_ids(id);
    v1::CheckpointPodResponse response;
    return cri().runtime().CheckpointPod(cri().context(120s).get(), request, &response);
  }

  grpc::Status checkpoint_container(const std::string& id, const std::string& location) {
    v1::CheckpointContainerRequest request;
    request.set_container_id(id);
    request.set_location(location);
    v1::CheckpointContainerResponse response;
    return cri().runtime().CheckpointContainer(cri().context(120s).get(), request, &response);
  }

  grpc::Status restore_pod(const std::string& path, const v1::PodSandboxConfig& config,
                           const std::vector<v1::ContainerConfig>& containers,
                           v1::RestorePodResponse& response) {
    v1::RestorePodRequest request;
    request.set_checkpoint_path(path);
    *request.mutable_config() = config;
    for (const auto& container : containers) *request.add_container_configs() = container;
    return cri().runtime().RestorePod(cri().context(120s).get(), request, &response);
  }

  // What Status's verbose info says of checkpoint/restore.
  nlohmann::json checkpoint_feature() {
    auto info = nlohmann::json::parse(cri().status(true).info().at("info"));
    return info["features"]["checkpointRestore"];
  }

  std::string make_dir(const std::string& name) {
    std::string path = dir_ + "/" + name;
    isolate::make_dirs(path, 0700);
    return path;
  }

  static std::string counter_script() {
    // Counts in its memory (a shell variable), printing each number and keeping the last in
    // /count; it wrote /kept and deleted the image's /bin/vi before counting. Asked to (a
    // number in /vol/next, where it has the volume), it makes its working directory /vol/w a
    // link to /proc/self/fd/<number>, as an attacker would before an exec.
    return "echo written > /kept; rm -f /bin/vi; i=0; "
           "while true; do i=$((i+1)); echo $i; echo $i > /count; "
           "if [ -f /vol/next ]; then n=$(cat /vol/next); rm -rf /vol/w; "
           "ln -s /proc/self/fd/$n /vol/w; rm /vol/next; touch /vol/planted-$n; fi; "
           "sleep 0.1; done";
  }

  static int number_in(const std::string& text) {
    try {
      return std::stoi(text);
    } catch (const std::exception&) {
      return -1;
    }
  }
};

TEST_F(CriCheckpoint, BadRequestsNameTheFieldAndLeaveNothing) {
  ASSERT_TRUE(start_daemon());
  Pod pod = run_pod("bad");
  std::string id = run(pod, container_config("counter", kIdle));

  auto relative = checkpoint_container(id, "relative.tar");
  EXPECT_EQ(relative.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(contains(relative.error_message(), "location")) << relative.error_message();
  auto no_dir = checkpoint_container(id, dir_ + "/missing/c.tar");
  EXPECT_EQ(no_dir.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  auto unknown = checkpoint_container("no-such-container", dir_ + "/c.tar");
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::NOT_FOUND);

  std::string out = make_dir("out");
  isolate::write_file_atomic(out + "/already-here", "x");
  auto not_empty = checkpoint_pod(pod.id, out, {id});
  EXPECT_EQ(not_empty.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(contains(not_empty.error_message(), "output_path")) << not_empty.error_message();
  std::string empty_out = make_dir("empty-out");
  auto no_ids = checkpoint_pod(pod.id, empty_out, {});
  EXPECT_EQ(no_ids.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(contains(no_ids.error_message(), "container_ids")) << no_ids.error_message();
  auto twice = checkpoint_pod(pod.id, empty_out, {id, id});
  EXPECT_EQ(twice.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  Pod other = run_pod("other");
  auto foreign = checkpoint_pod(other.id, empty_out, {id});
  EXPECT_EQ(foreign.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  // The proto: "the caller must set a deadline".
  {
    grpc::ClientContext no_deadline;
    v1::CheckpointPodRequest request;
    request.set_pod_sandbox_id(pod.id);
    request.set_output_path(empty_out);
    request.add_container_ids(id);
    v1::CheckpointPodResponse response;
    auto status = cri().runtime().CheckpointPod(&no_deadline, request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_TRUE(contains(status.error_message(), "deadline")) << status.error_message();
  }
  EXPECT_TRUE(entries_of(empty_out).empty()) << joined(entries_of(empty_out));

  // A directory without a pod checkpoint, a hostile index, configs that do not match: refused
  // before any pod is made.
  size_t pods_before = cri().list_pods().size();
  v1::RestorePodResponse restored;
  auto missing =
      restore_pod(empty_out, pod_config("restored"), {container_config("counter", "")}, restored);
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(contains(missing.error_message(), "checkpoint_path")) << missing.error_message();
  std::string hostile = make_dir("hostile");
  isolate::write_file_atomic(
      hostile + "/pod.json",
      R"({"containers":[{"name":"counter","id":"x","archive":"../../etc/shadow"}]})");
  auto escaping =
      restore_pod(hostile, pod_config("restored"), {container_config("counter", "")}, restored);
  EXPECT_EQ(escaping.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << escaping.error_message();
  std::string index = make_dir("index");
  isolate::write_file_atomic(index + "/pod.json",
                             R"({"containers":[{"name":"counter","id":"x","archive":"c.tar"}]})");
  isolate::write_file_atomic(index + "/c.tar", "");
  auto wrong_name =
      restore_pod(index, pod_config("restored"), {container_config("other", "")}, restored);
  EXPECT_EQ(wrong_name.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(contains(wrong_name.error_message(), "container_configs"))
      << wrong_name.error_message();
  // The index names a link, or the same name twice.
  ::unlink((index + "/c.tar").c_str());
  ASSERT_EQ(::symlink("/etc/shadow", (index + "/c.tar").c_str()), 0);
  auto link =
      restore_pod(index, pod_config("restored"), {container_config("counter", "")}, restored);
  EXPECT_EQ(link.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << link.error_message();
  ::unlink((index + "/c.tar").c_str());
  isolate::write_file_atomic(index + "/c.tar", "");
  isolate::write_file_atomic(
      index + "/pod.json",
      R"({"containers":[{"name":"counter","archive":"c.tar"},{"name":"counter","archive":"c.tar"}]})");
  auto twice_named =
      restore_pod(index, pod_config("restored"), {container_config("counter", "")}, restored);
  EXPECT_EQ(twice_named.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(contains(twice_named.error_message(), "twice")) << twice_named.error_message();
  isolate::write_file_atomic(index + "/pod.json",
                             R"({"containers":[{"name":"counter","archive":"c.tar"}]})");
  auto none = restore_pod(index, pod_config("restored"), {}, restored);
  EXPECT_EQ(none.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(cri().list_pods().size(), pods_before);
}

// Where CRIU cannot run, every checkpoint call says so (FAILED_PRECONDITION naming CRIU and
// what it reported), Status says so too, and nothing is written. The daemon is given a CRIU
// that fails its own check (HANOK_CRIU, as an operator may set it), so this runs on every host.
TEST_F(CriCheckpoint, WithoutWorkingCriuTheCallsSaySo) {
  ::setenv("HANOK_CRIU", "/bin/false", 1);
  auto started = start_daemon();
  ::unsetenv("HANOK_CRIU");
  ASSERT_TRUE(started);
  auto feature = checkpoint_feature();
  ASSERT_FALSE(feature.value("available", true)) << feature.dump();
  EXPECT_EQ(feature.value("criu", ""), "/bin/false") << feature.dump();
  EXPECT_TRUE(contains(feature.value("problem", ""), "criu check failed")) << feature.dump();
  Pod pod = run_pod("nocriu");
  std::string id = run(pod, container_config("counter", kIdle));
  auto single = checkpoint_container(id, dir_ + "/c.tar");
  EXPECT_EQ(single.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_TRUE(contains(single.error_message(), "CRIU")) << single.error_message();
  EXPECT_TRUE(contains(single.error_message(), feature.value("problem", "")))
      << single.error_message();
  EXPECT_FALSE(isolate::path_exists(dir_ + "/c.tar"));
  std::string out = make_dir("out");
  auto whole = checkpoint_pod(pod.id, out, {id});
  EXPECT_EQ(whole.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_TRUE(entries_of(out).empty());
  // The container was never paused, and runs on.
  EXPECT_EQ(cri().container_status(id).status().state(), v1::CONTAINER_RUNNING);
  EXPECT_EQ(shell(id, "true").exit_code(), 0);
}

TEST_F(CriCheckpoint, PodRestoredInANewPodContinuesItsCount) {
  ASSERT_TRUE(start_daemon());
  // Listed only in the VM leg (test/common/test_main.cpp), whose Debian kernel CRIU supports.
  auto feature = checkpoint_feature();
  ASSERT_TRUE(feature.value("available", false)) << feature.dump();
  v1::PodSandboxConfig config = pod_config("counting");
  Pod pod = run_pod(config);
  v1::ContainerConfig counter = container_config("counter", counter_script());
  // A volume of the pod's (an external bind mount to CRIU), its working directory there.
  std::string volume = make_dir("vol");
  isolate::make_dirs(volume + "/w", 0755);
  auto* mount = counter.add_mounts();
  mount->set_container_path("/vol");
  mount->set_host_path(volume);
  counter.set_working_dir("/vol/w");
  // The kubelet's default: a PID namespace of its own.
  counter.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(
      v1::CONTAINER);
  std::string id = run(pod, counter);
  // And one in the pod's PID namespace (shareProcessNamespace), external to its checkpoint.
  v1::ContainerConfig sharer = container_config("sharer", counter_script());
  sharer.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(v1::POD);
  std::string sharer_id = run(pod, sharer);
  ASSERT_TRUE(poll_until([&] { return number_in(output_of(id, "cat /count")) >= 10; }, 20s));

  // One container alone: an archive as CRI-O's, the container running on.
  std::string archive = dir_ + "/counter.tar";
  auto single = checkpoint_container(id, archive);
  ASSERT_TRUE(single.ok()) << single.error_message();
  auto listing = isolate::run_program({"/bin/tar", "-tf", archive});
  ASSERT_TRUE(listing.succeeded()) << listing.output;
  for (const char* entry : {"config.dump", "spec.dump", "rootfs-diff.tar", "deleted.files",
                            "checkpoint/inventory.img"}) {
    EXPECT_TRUE(contains(listing.output, entry)) << entry << " not in\n" << listing.output;
  }
  EXPECT_EQ(cri().container_status(id).status().state(), v1::CONTAINER_RUNNING);

  // The pod: the count at the checkpoint is at most what the container shows just after.
  std::string out = make_dir("pod-checkpoint");
  int before = number_in(output_of(id, "cat /count"));
  auto whole = checkpoint_pod(pod.id, out, {id, sharer_id});
  ASSERT_TRUE(whole.ok()) << whole.error_message();
  int after = number_in(output_of(id, "cat /count"));
  ASSERT_GE(after, before);
  EXPECT_EQ(cri().container_status(id).status().state(), v1::CONTAINER_RUNNING)
      << "the pod was left paused or stopped";
  cri().stop_pod(pod.id);
  cri().remove_pod(pod.id);

  // As the kubelet restores it: a new pod UID, a new log directory.
  v1::PodSandboxConfig restored_config = config;
  restored_config.mutable_metadata()->set_uid("uid-counting-restored");
  restored_config.set_log_directory(dir_ + "/logs/counting-restored");
  v1::RestorePodResponse restored;
  // A config whose process is not the checkpointed one fails, leaving no pod.
  v1::ContainerConfig changed = counter;
  changed.set_command(2, "echo another program");
  auto mismatch = restore_pod(out, restored_config, {changed, sharer}, restored);
  EXPECT_EQ(mismatch.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << mismatch.error_message();
  EXPECT_TRUE(contains(mismatch.error_message(), "command")) << mismatch.error_message();
  EXPECT_TRUE(cri().list_pods().empty());
  // So does one asking for another confinement than CRIU would give back (a capability more).
  v1::ContainerConfig more_capable = counter;
  more_capable.mutable_linux()
      ->mutable_security_context()
      ->mutable_capabilities()
      ->add_add_capabilities("SYS_ADMIN");
  auto confinement = restore_pod(out, restored_config, {more_capable, sharer}, restored);
  EXPECT_EQ(confinement.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << confinement.error_message();
  EXPECT_TRUE(contains(confinement.error_message(), "its capabilities"))
      << confinement.error_message();
  EXPECT_TRUE(cri().list_pods().empty());
  // An archive whose rootfs diff is a link to a host file: refused, no pod left.
  std::string evil = make_dir("evil");
  std::string evil_src = make_dir("evil-src");
  ASSERT_EQ(::symlink("/etc/shadow", (evil_src + "/rootfs-diff.tar").c_str()), 0);
  isolate::write_file_atomic(evil_src + "/config.dump", "{}");
  auto packed = isolate::run_program({"/bin/tar", "-C", evil_src, "-cf", evil + "/c.tar", "."});
  ASSERT_TRUE(packed.succeeded()) << packed.output;
  isolate::write_file_atomic(evil + "/pod.json",
                             R"({"containers":[{"name":"counter","archive":"c.tar"}]})");
  auto linked = restore_pod(evil, restored_config, {counter}, restored);
  EXPECT_EQ(linked.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << linked.error_message();
  EXPECT_TRUE(contains(linked.error_message(), "rootfs-diff.tar")) << linked.error_message();
  EXPECT_TRUE(cri().list_pods().empty());
  // Signed by this node: the archive with one byte of a CRIU image changed, or without its
  // signature, repacked, is refused, and no pod is left.
  auto index = nlohmann::json::parse(isolate::read_file(out + "/pod.json"));
  for (std::string how : {"altered", "unsigned"}) {
    std::string copy = make_dir(how);
    std::string work = make_dir(how + "-work");
    for (const auto& entry : index["containers"]) {
      std::string archive = entry["archive"].get<std::string>();
      if (entry["name"] != "counter") {
        ASSERT_TRUE(isolate::run_program({"/bin/cp", out + "/" + archive, copy + "/" + archive})
                        .succeeded());
        continue;
      }
      ASSERT_TRUE(
          isolate::run_program({"/bin/tar", "-C", work, "-xf", out + "/" + archive}).succeeded());
      if (how == "altered") {
        std::string image = work + "/checkpoint/inventory.img";
        std::string bytes = isolate::read_file(image);
        ASSERT_GT(bytes.size(), 16U);
        bytes[16] = static_cast<char>(bytes[16] ^ 1);
        isolate::write_file_atomic(image, bytes, 0600);
      } else {
        ASSERT_EQ(::unlink((work + "/hanok-signature.json").c_str()), 0);
      }
      ASSERT_TRUE(isolate::run_program({"/bin/tar", "-C", work, "-cf", copy + "/" + archive, "."})
                      .succeeded());
    }
    ASSERT_TRUE(
        isolate::run_program({"/bin/cp", out + "/pod.json", copy + "/pod.json"}).succeeded());
    auto refused = restore_pod(copy, restored_config, {counter, sharer}, restored);
    EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << refused.error_message();
    EXPECT_TRUE(contains(refused.error_message(), how == "altered"
                                                      ? "was altered after it was signed: "
                                                        "checkpoint/inventory.img differs"
                                                      : "is not signed"))
        << refused.error_message();
    EXPECT_TRUE(cri().list_pods().empty());
  }
  restored.Clear();
  auto status = restore_pod(out, restored_config, {counter, sharer}, restored);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(restored.restored_containers_size(), 2);
  std::map<std::string, std::string> by_name;
  for (const auto& container : restored.restored_containers()) {
    by_name[container.name()] = container.container_id();
  }
  ASSERT_EQ(by_name.count("counter"), 1u);
  ASSERT_EQ(by_name.count("sharer"), 1u);
  std::string new_id = by_name["counter"];
  EXPECT_NE(restored.pod_sandbox_id(), pod.id);
  // A hanokd killed before the start finds them as they were: created, waiting to be restored.
  // (It comes back restoring unsigned archives too, as an operator may ask: see the end.)
  ASSERT_EQ(::kill(daemon_->pid(), SIGKILL), 0);
  client_.reset();
  daemon_.reset();
  ASSERT_TRUE(start_daemon("restore_unsigned_checkpoints = true"));
  // Created, their processes not there yet.
  for (const auto& [name, restored_id] : by_name) {
    EXPECT_EQ(cri().container_status(restored_id).status().state(), v1::CONTAINER_CREATED);
    cri().start_container(restored_id);
    ASSERT_EQ(cri().container_status(restored_id).status().state(), v1::CONTAINER_RUNNING);
  }
  int resumed = -1;
  ASSERT_TRUE(poll_until(
      [&] {
        resumed = number_in(output_of(new_id, "cat /count"));
        return resumed > after + 5;
      },
      20s))
      << "the restored counter is at " << resumed << " (it was at " << after << ")";
  // It went on from where it was, never from 1: its first line in the new log is past before.
  ASSERT_TRUE(poll_until([&] { return !log_messages(log_path_of(new_id)).empty(); }, 10s));
  int first = number_in(log_messages(log_path_of(new_id)).front());
  EXPECT_GE(first, before) << "the restored process started over";
  EXPECT_LE(first, after + 2);
  // Its files: the one it wrote is there, the one it deleted stays deleted.
  EXPECT_EQ(output_of(new_id, "cat /kept"), "written");
  EXPECT_EQ(shell(new_id, "test -e /bin/vi").exit_code(), 1);
  // The one in the pod's PID namespace counts on too, and sees its neighbour there (by the
  // pod init, pid 1, in the pod's namespace, not a namespace of its own).
  int shared_before = number_in(output_of(by_name["sharer"], "cat /count"));
  EXPECT_TRUE(poll_until(
      [&] { return number_in(output_of(by_name["sharer"], "cat /count")) > shared_before + 3; },
      10s));
  EXPECT_EQ(output_of(by_name["sharer"], "cat /proc/1/comm"), "hanok-pod-init");
  EXPECT_EQ(output_of(by_name["sharer"], "tr '\\0' ' ' < /proc/1/cmdline"), "hanok-pod-init ");
  // In the new pod's IPC and UTS namespaces, as a container made there now is.
  std::string fresh =
      run(Pod{restored.pod_sandbox_id(), restored_config}, container_config("fresh", kIdle));
  for (const char* ns : {"ipc", "uts"}) {
    std::string link = std::string("readlink /proc/self/ns/") + ns;
    EXPECT_EQ(output_of(new_id, link), output_of(fresh, link)) << ns;
    EXPECT_EQ(output_of(by_name["sharer"], link), output_of(fresh, link)) << ns;
  }
  EXPECT_EQ(output_of(new_id, "hostname"), output_of(fresh, "hostname"));
  // A process entering the restored container holds no fd of the host's either: its working
  // directory made a link to /proc/self/fd/N by the container, every exec into it fails.
  std::string escapes;
  for (int n = 3; n <= 40; ++n) {
    isolate::write_file_atomic(volume + "/next", std::to_string(n), 0644);
    ASSERT_TRUE(poll_until(
        [&] { return isolate::path_exists(volume + "/planted-" + std::to_string(n)); }, 20s));
    const std::vector<std::string> look = {"sh", "-c", "pwd; ls ../../.."};
    CallOutcome outcome = outcome_of([&] {
      auto response = cri().exec_sync(new_id, look, 20);
      escapes += "ExecSync into /proc/self/fd/" + std::to_string(n) + ": " + response.stdout();
    });
    if (outcome.code != grpc::StatusCode::OK) {
      EXPECT_TRUE(contains(outcome.message, "process.cwd")) << n << ": " << outcome;
    }
    if (n > 10) continue;  // a terminal's exec takes the same path; the first fds suffice
    auto result = client(exec_url(new_id, look, false, true, false, true), {"--tty"});
    if (status_of(result).value("status", "") == "Success") {
      escapes += "tty exec into /proc/self/fd/" + std::to_string(n) + ": " +
                 result.value("stdout", "") + "\n";
    }
  }
  EXPECT_EQ(escapes, "");
  EXPECT_EQ(processes_outside_root(new_id), "");
  // It is a container like any other: stopped by its pod.
  cri().stop_pod(restored.pod_sandbox_id());
  EXPECT_EQ(cri().container_status(new_id).status().state(), v1::CONTAINER_EXITED);
  cri().remove_pod(restored.pod_sandbox_id());

  // restore_unsigned_checkpoints = true: the archive without its signature restores.
  v1::RestorePodResponse unsigned_restore;
  restored_config.mutable_metadata()->set_uid("uid-counting-unsigned");
  auto allowed =
      restore_pod(dir_ + "/unsigned", restored_config, {counter, sharer}, unsigned_restore);
  ASSERT_TRUE(allowed.ok()) << allowed.error_message();
  EXPECT_EQ(unsigned_restore.restored_containers_size(), 2);
}

}  // namespace
}  // namespace hanok::test
