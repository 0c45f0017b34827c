// hanokd's CRI RuntimeService as the kubelet and crictl use it: pods and containers of the busybox
// fixture image (served by a fake registry) on a private hanokd per test, through the CRI client
// library. Every test looks at what a user sees: statuses, codes, logs, files and processes
// inside the containers, and what is left on the node afterwards.
#include <sched.h>
#include <sys/syscall.h>

#include <thread>

#include "cri_fixture.hpp"
#include "images/sqlite.hpp"
#include "store.pb.h"

namespace hanok::test {
namespace {

class CriRuntime : public CriFixture {};

// ---------------------------------------------------------------------------------------------
// 1. A pod and its containers from RunPodSandbox to RemovePodSandbox.

TEST_F(CriRuntime, Lifecycle) {
  ASSERT_TRUE(start_daemon());
  v1::PodSandboxConfig config = pod_config("lifecycle");
  config.set_hostname("lifehost");
  (*config.mutable_labels())["app"] = "web";
  (*config.mutable_labels())["tier"] = "front";
  Pod pod = run_pod(config);
  v1::PodSandboxConfig other_config = pod_config("other");
  (*other_config.mutable_labels())["app"] = "db";
  Pod other = run_pod(other_config);

  auto pod_status = cri().pod_status(pod.id).status();
  EXPECT_EQ(pod_status.state(), v1::SANDBOX_READY);
  EXPECT_EQ(pod_status.metadata().name(), "lifecycle");
  EXPECT_EQ(pod_status.labels().at("app"), "web");
  EXPECT_TRUE(isolate::path_exists(pod_memory_cgroup(pod.id))) << pod_memory_cgroup(pod.id);

  v1::ContainerConfig echo = container_config("echo", "echo hello-out; echo hello-err >&2; exit 0");
  (*echo.mutable_labels())["role"] = "printer";
  std::string echo_id = run(pod, echo);
  std::string idle_id = run(pod, container_config("idle", kIdle));
  ASSERT_TRUE(cri().wait_for_state(echo_id, v1::CONTAINER_EXITED, 20s));

  auto status = cri().container_status(echo_id).status();
  EXPECT_EQ(status.exit_code(), 0);
  EXPECT_EQ(status.reason(), "Completed");
  EXPECT_GT(status.created_at(), 0);
  EXPECT_LE(status.created_at(), status.started_at());
  EXPECT_LE(status.started_at(), status.finished_at());
  EXPECT_FALSE(status.image().image().empty());
  EXPECT_FALSE(status.image_ref().empty());
  EXPECT_EQ(status.metadata().name(), "echo");
  EXPECT_EQ(status.log_path(), config.log_directory() + "/echo.log");
  EXPECT_EQ(output_of(idle_id, "hostname"), "lifehost");

  // The CRI log: "<RFC3339Nano time> <stream> <P|F> <text>" lines, each line on its stream.
  std::string log = isolate::read_file_if_exists(status.log_path()).value_or("");
  std::regex line_form(R"(^(\S+) (stdout|stderr) [PF] .*$)");
  std::regex rfc3339_nano(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$)");
  std::istringstream lines(log);
  std::string line;
  int line_count = 0;
  while (std::getline(lines, line)) {
    ++line_count;
    std::smatch match;
    ASSERT_TRUE(std::regex_match(line, match, line_form)) << "a bad log line: " << line;
    std::string time = match[1];
    EXPECT_TRUE(std::regex_match(time, rfc3339_nano)) << "not an RFC3339Nano time: " << line;
  }
  EXPECT_EQ(line_count, 2) << log;
  EXPECT_EQ(joined(log_messages(status.log_path(), "stdout"), "|"), "hello-out") << log;
  EXPECT_EQ(joined(log_messages(status.log_path(), "stderr"), "|"), "hello-err") << log;

  // ListContainers filters.
  v1::ContainerFilter by_prefix;
  by_prefix.set_id(echo_id.substr(0, 12));
  EXPECT_EQ(ids_of(cri().list_containers(by_prefix)), std::vector<std::string>{echo_id});
  v1::ContainerFilter by_pod;
  by_pod.set_pod_sandbox_id(pod.id);
  EXPECT_EQ(ids_of(cri().list_containers(by_pod)), sorted({echo_id, idle_id}));
  v1::ContainerFilter by_other_pod;
  by_other_pod.set_pod_sandbox_id(other.id);
  EXPECT_TRUE(cri().list_containers(by_other_pod).empty());
  v1::ContainerFilter by_state;
  by_state.mutable_state()->set_state(v1::CONTAINER_EXITED);
  EXPECT_EQ(ids_of(cri().list_containers(by_state)), std::vector<std::string>{echo_id});
  by_state.mutable_state()->set_state(v1::CONTAINER_RUNNING);
  EXPECT_EQ(ids_of(cri().list_containers(by_state)), std::vector<std::string>{idle_id});
  v1::ContainerFilter by_label;
  (*by_label.mutable_label_selector())["role"] = "printer";
  auto printers = cri().list_containers(by_label);
  ASSERT_EQ(ids_of(printers), std::vector<std::string>{echo_id});
  EXPECT_EQ(printers[0].pod_sandbox_id(), pod.id);
  EXPECT_EQ(printers[0].metadata().name(), "echo");
  EXPECT_EQ(printers[0].labels().at("role"), "printer");

  // ListPodSandbox filters.
  EXPECT_EQ(ids_of(cri().list_pods()), sorted({pod.id, other.id}));
  v1::PodSandboxFilter pod_by_id;
  pod_by_id.set_id(pod.id);
  EXPECT_EQ(ids_of(cri().list_pods(pod_by_id)), std::vector<std::string>{pod.id});
  v1::PodSandboxFilter pod_by_label;
  (*pod_by_label.mutable_label_selector())["app"] = "web";
  EXPECT_EQ(ids_of(cri().list_pods(pod_by_label)), std::vector<std::string>{pod.id});
  v1::PodSandboxFilter ready;
  ready.mutable_state()->set_state(v1::SANDBOX_READY);
  EXPECT_EQ(ids_of(cri().list_pods(ready)), sorted({pod.id, other.id}));

  // StopPodSandbox: NOTREADY, its containers exited; a second stop changes nothing.
  for (int round = 0; round < 2; ++round) {
    EXPECT_CODE(grpc::StatusCode::OK, cri().stop_pod(pod.id));
    EXPECT_EQ(cri().pod_status(pod.id).status().state(), v1::SANDBOX_NOTREADY) << round;
    EXPECT_EQ(cri().container_status(idle_id).status().state(), v1::CONTAINER_EXITED) << round;
  }
  EXPECT_EQ(ids_of(cri().list_pods(ready)), std::vector<std::string>{other.id});
  v1::PodSandboxFilter not_ready;
  not_ready.mutable_state()->set_state(v1::SANDBOX_NOTREADY);
  EXPECT_EQ(ids_of(cri().list_pods(not_ready)), std::vector<std::string>{pod.id});

  // RemovePodSandbox takes its containers with it.
  cri().remove_pod(pod.id);
  EXPECT_TRUE(cri().list_containers(by_pod).empty());
  EXPECT_CODE(grpc::StatusCode::NOT_FOUND, cri().container_status(echo_id));
  EXPECT_CODE(grpc::StatusCode::NOT_FOUND, cri().pod_status(pod.id));
  EXPECT_EQ(ids_of(cri().list_pods()), std::vector<std::string>{other.id});
  cri().stop_pod(other.id);
  cri().remove_pod(other.id);
  expect_nothing_left(pod.id);
  for (const auto& cgroup : pod_cgroup_dirs(other.id)) EXPECT_FALSE(isolate::path_exists(cgroup));
}

// Containers that end at once still started before they finished (kubectl shows these times).
TEST_F(CriRuntime, ShortContainersStartBeforeTheyFinish) {
  ASSERT_TRUE(start_daemon());
  Pod pod = run_pod("short");
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    ids.push_back(run(pod, container_config("short-" + std::to_string(i), "true")));
  }
  for (const auto& id : ids) {
    ASSERT_TRUE(cri().wait_for_state(id, v1::CONTAINER_EXITED, 20s));
    auto status = cri().container_status(id).status();
    EXPECT_LE(status.created_at(), status.started_at()) << status.metadata().name();
    // The monitor takes finished_at when the process ends, which can be before `hanok start`
    // returns: started_at must be the time the start was asked for.
    EXPECT_LE(status.started_at(), status.finished_at())
        << status.metadata().name() << " finished "
        << (status.started_at() - status.finished_at()) / 1000 << " us before it started";
  }
}

// ---------------------------------------------------------------------------------------------
// 2. Exit codes and reasons.

TEST_F(CriRuntime, ExitCodes) {
  ASSERT_TRUE(start_daemon());
  Pod pod = run_pod("exit-codes");

  std::string failing = run(pod, container_config("exit3", "exit 3"));
  std::string killed = run(pod, container_config("killed", kIdle));
  v1::ContainerConfig hog = container_config("hog", "tail /dev/zero");
  hog.mutable_linux()->mutable_resources()->set_memory_limit_in_bytes(32 * kMiB);
  std::string hog_id = run(pod, hog);

  ASSERT_TRUE(cri().wait_for_state(failing, v1::CONTAINER_EXITED, 20s));
  auto exit3 = cri().container_status(failing).status();
  EXPECT_EQ(exit3.exit_code(), 3);
  EXPECT_EQ(exit3.reason(), "Error");

  ASSERT_EQ(cri().container_status(killed).status().state(), v1::CONTAINER_RUNNING);
  cri().stop_container(killed, 0);
  auto kill9 = cri().container_status(killed).status();
  EXPECT_EQ(kill9.state(), v1::CONTAINER_EXITED);
  EXPECT_EQ(kill9.exit_code(), 137);

  ASSERT_TRUE(cri().wait_for_state(hog_id, v1::CONTAINER_EXITED, 60s));
  auto oom = cri().container_status(hog_id).status();
  EXPECT_EQ(oom.reason(), "OOMKilled");
  EXPECT_EQ(oom.exit_code(), 137);
}

// A monitor killed under a running container: hanokd learns it at once, ends the container
// (nothing would hold its stdio or record its exit) and reports an unknown exit.
TEST_F(CriRuntime, MonitorKilled) {
  ASSERT_TRUE(start_daemon());
  Pod pod = run_pod("monitor-killed");
  std::string id = run(pod, container_config("orphaned", kIdle));
  auto info = nlohmann::json::parse(cri().container_status(id, true).info().at("info"));
  pid_t monitor = info.at("monitorPid").get<pid_t>();
  pid_t init = info.at("pid").get<pid_t>();
  ASSERT_GT(monitor, 0);
  ASSERT_GT(init, 0);
  ASSERT_EQ(::kill(monitor, SIGKILL), 0);

  ASSERT_TRUE(cri().wait_for_state(id, v1::CONTAINER_EXITED, 20s));
  auto status = cri().container_status(id).status();
  EXPECT_EQ(status.exit_code(), 255);
  EXPECT_EQ(status.reason(), "Unknown");
  EXPECT_GE(status.finished_at(), status.started_at());
  for (int i = 0; i < 100 && ::kill(init, 0) == 0; ++i) std::this_thread::sleep_for(50ms);
  EXPECT_NE(::kill(init, 0), 0) << "the container's process " << init << " still runs";

  // The pod goes on: another container starts in it.
  std::string next = run(pod, container_config("next", kIdle));
  EXPECT_EQ(cri().container_status(next).status().state(), v1::CONTAINER_RUNNING);
  cri().stop_pod(pod.id);
  cri().remove_pod(pod.id);
  expect_nothing_left(pod.id);
}

// ---------------------------------------------------------------------------------------------
// 3. StopContainer: the stop signal first, SIGKILL at the timeout. Each container's trap writes
// the signal it got to its log; SIGKILL, which no trap sees, shows in the exit code.

TEST_F(CriRuntime, StopSignal) {
  ASSERT_TRUE(start_daemon());
  Pod pod = run_pod("stop-signal");
  std::string polite = run(pod, container_config("polite", R"(
trap 'echo got TERM; exit 0' TERM
echo ready
while :; do sleep 0.1; done)"));
  std::string stubborn = run(pod, container_config("stubborn", R"(
trap 'echo got TERM, staying' TERM
echo ready
while :; do sleep 0.1; done)"));
  std::string polite_log = log_path_of(polite);
  std::string stubborn_log = log_path_of(stubborn);
  ASSERT_TRUE(poll_until([&] { return log_has(polite_log, "ready"); }, 10s));
  ASSERT_TRUE(poll_until([&] { return log_has(stubborn_log, "ready"); }, 10s));

  // TERM, and its trap ended it: not killed at the timeout.
  cri().stop_container(polite, 10);
  auto status = cri().container_status(polite).status();
  EXPECT_EQ(status.state(), v1::CONTAINER_EXITED);
  EXPECT_EQ(status.exit_code(), 0);
  EXPECT_EQ(joined(log_messages(polite_log), "|"), "ready|got TERM");

  // TERM first, which it outlived (its trap ran), then SIGKILL at the timeout.
  cri().stop_container(stubborn, 2);
  status = cri().container_status(stubborn).status();
  EXPECT_EQ(status.state(), v1::CONTAINER_EXITED);
  EXPECT_EQ(status.exit_code(), 137);
  EXPECT_EQ(joined(log_messages(stubborn_log), "|"), "ready|got TERM, staying");
}

// ---------------------------------------------------------------------------------------------
// 4. ExecSync.

TEST_F(CriRuntime, ExecSync) {
  ASSERT_TRUE(start_daemon("exec_output_limit = 4096"));
  Pod pod = run_pod("exec");
  std::string id = run(pod, container_config("target", kIdle));

  auto separated = shell(id, "echo out; echo err >&2; exit 5");
  EXPECT_EQ(separated.stdout(), "out\n");
  EXPECT_EQ(separated.stderr(), "err\n");
  EXPECT_EQ(separated.exit_code(), 5);

  // A timeout ends the call and the command.
  auto start = Clock::now();
  EXPECT_CODE(grpc::StatusCode::DEADLINE_EXCEEDED, cri().exec_sync(id, {"sleep", "777"}, 1));
  EXPECT_LT(Clock::now() - start, 5s);
  std::string ps;
  EXPECT_TRUE(poll_until(
      [&] {
        ps = output_of(id, "ps -o pid,args");
        return !contains(ps, "sleep 777");
      },
      2s))
      << "the exec'd command outlived its timeout:\n"
      << ps;

  // Output is bounded by exec_output_limit.
  auto big = shell(id, "head -c 100000 /dev/zero | tr '\\0' x");
  EXPECT_EQ(big.exit_code(), 0);
  EXPECT_EQ(big.stdout().size(), 4096u);
  EXPECT_EQ(big.stdout(), std::string(4096, 'x').substr(0, big.stdout().size()));

  // A command that cannot start is an error, not an exit code.
  CallOutcome missing = outcome_of([&] { cri().exec_sync(id, {"/no/such/binary"}, 10); });
  EXPECT_NE(missing.code, grpc::StatusCode::OK) << "exec of a missing binary answered OK";

  // No exec in an exited container.
  std::string done = run(pod, container_config("done", "true"));
  ASSERT_TRUE(cri().wait_for_state(done, v1::CONTAINER_EXITED, 20s));
  EXPECT_CODE(grpc::StatusCode::FAILED_PRECONDITION, cri().exec_sync(done, {"true"}, 5));
}

// What all ExecSync calls hold of their output at once is bounded (exec_sync_buffer_limit): 64
// calls at once, each writing 16 MiB, either get their output whole (as much as
// exec_output_limit keeps) or fail with RESOURCE_EXHAUSTED; hanokd does not hold them all.
TEST_F(CriRuntime, ExecSyncOutputIsBoundedAcrossCalls) {
  constexpr int64_t kKept = 15 * kMiB;  // under the client's 16 MiB message limit
  ASSERT_TRUE(start_daemon("exec_output_limit = " + std::to_string(kKept) +
                           "\nexec_sync_buffer_limit = " + std::to_string(128 * kMiB)));
  Pod pod = run_pod("exec-bound");
  std::string id = run(pod, container_config("target", kIdle));
  std::string proc = "/proc/" + std::to_string(daemon_->pid());
  auto kib = [&](const char* key) {
    return std::stoll(status_field(isolate::read_file(proc + "/status"), key));
  };
  isolate::write_knob(proc + "/clear_refs", "5");
  long long before = kib("VmRSS");
  std::mutex mutex;
  std::map<std::string, int> outcomes;
  std::vector<std::thread> calls;
  for (int i = 0; i < 64; ++i) {
    calls.emplace_back([&] {
      CriClient client(daemon_->socket(), std::chrono::seconds(120));
      std::string outcome;
      try {
        auto response = client.exec_sync(id, {"head", "-c", "16777216", "/dev/zero"}, 100);
        bool whole = static_cast<int64_t>(response.stdout().size()) == kKept &&
                     response.stdout().find_first_not_of('\0') == std::string::npos;
        outcome = whole ? "OK" : "OK with " + std::to_string(response.stdout().size()) + " bytes";
      } catch (const CriError& e) {
        outcome = code_name(e.code());
      }
      std::lock_guard lock(mutex);
      ++outcomes[outcome];
    });
  }
  for (auto& call : calls) call.join();
  long long grown = kib("VmHWM") - before;
  std::string seen;
  for (const auto& [outcome, count] : outcomes)
    seen += outcome + ": " + std::to_string(count) + "\n";
  EXPECT_GE(outcomes["OK"], 1) << seen;
  EXPECT_GE(outcomes["RESOURCE_EXHAUSTED"], 1) << seen;
  EXPECT_EQ(outcomes["OK"] + outcomes["RESOURCE_EXHAUSTED"], 64) << seen;
  // The budget and the replies being sent; not 64 x 15 MiB.
  EXPECT_LT(grown, 512 * 1024) << "hanokd grew by " << grown << " KiB\n" << seen;
  std::cout << "hanokd grew by " << grown / 1024 << " MiB under 64 ExecSync calls; " << seen;
  // All of it given back: a call after them gets its whole output.
  EXPECT_EQ(shell(id, "head -c 10485760 /dev/zero | wc -c").stdout(), "10485760\n");
  auto big = cri().exec_sync(id, {"head", "-c", "16777216", "/dev/zero"}, 100);
  EXPECT_EQ(static_cast<int64_t>(big.stdout().size()), kKept);
}

// ---------------------------------------------------------------------------------------------
// 5. Errors: unknown ids, invalid configs (the message names the field), wrong states; failed
// creates leave nothing behind.

TEST_F(CriRuntime, Errors) {
  ASSERT_TRUE(start_daemon());
  Pod pod = run_pod("errors");

  EXPECT_CODE(grpc::StatusCode::NOT_FOUND, cri().start_container(kUnknownId));
  EXPECT_CODE(grpc::StatusCode::NOT_FOUND, cri().stop_container(kUnknownId, 0));
  EXPECT_CODE(grpc::StatusCode::NOT_FOUND, cri().container_status(kUnknownId));
  EXPECT_CODE(grpc::StatusCode::NOT_FOUND, cri().pod_status(kUnknownId));
  EXPECT_CODE(grpc::StatusCode::NOT_FOUND, cri().stop_pod(kUnknownId));
  EXPECT_CODE(grpc::StatusCode::NOT_FOUND, cri().exec_sync(kUnknownId, {"true"}, 5));
  EXPECT_CODE(grpc::StatusCode::NOT_FOUND,
              cri().create_container(kUnknownId, container_config("c", "true"), pod.config));
  EXPECT_CODE(grpc::StatusCode::OK, cri().remove_container(kUnknownId));
  EXPECT_CODE(grpc::StatusCode::OK, cri().remove_pod(kUnknownId));

  auto expect_invalid = [](const CallOutcome& outcome, const std::string& field) {
    EXPECT_EQ(code_name(outcome.code), "INVALID_ARGUMENT") << outcome;
    EXPECT_TRUE(contains(outcome.message, field)) << "no \"" << field << "\" in: " << outcome;
  };
  v1::PodSandboxConfig nameless_pod = pod_config("");
  expect_invalid(outcome_of([&] { cri().run_pod(nameless_pod); }), "metadata.name");
  v1::PodSandboxConfig node_sysctl = pod_config("node-sysctl");
  (*node_sysctl.mutable_linux()->mutable_sysctls())["kernel.panic"] = "10";
  expect_invalid(outcome_of([&] { cri().run_pod(node_sysctl); }), "sysctls");
  EXPECT_EQ(ids_of(cri().list_pods()), std::vector<std::string>{pod.id});

  auto create_outcome = [&](const v1::ContainerConfig& config) {
    return outcome_of([&] { create(pod, config); });
  };
  expect_invalid(create_outcome(container_config("", "true")), "metadata.name");
  v1::ContainerConfig group_only = container_config("group-only", "true");
  group_only.mutable_linux()->mutable_security_context()->mutable_run_as_group()->set_value(1000);
  expect_invalid(create_outcome(group_only), "run_as_group");
  v1::ContainerConfig relative_seccomp = container_config("relative-seccomp", "true");
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  relative_seccomp.mutable_linux()->mutable_security_context()->set_seccomp_profile_path("foo/bar");
#pragma GCC diagnostic pop
  expect_invalid(create_outcome(relative_seccomp), "seccomp");
  v1::ContainerConfig relative_cwd = container_config("relative-cwd", "true");
  relative_cwd.set_working_dir("tmp");
  expect_invalid(create_outcome(relative_cwd), "working_dir");
  v1::ContainerConfig not_pulled = container_config("not-pulled", "true");
  not_pulled.mutable_image()->set_image(registry_->host() + "/hanok/not-pulled:latest");
  EXPECT_EQ(code_name(create_outcome(not_pulled).code), "NOT_FOUND");

  EXPECT_TRUE(cri().list_containers().empty());
  EXPECT_EQ(joined(entries_of(state_ + "/containers")), "");
  EXPECT_EQ(joined(entries_of(image_root() + "/containers")), "");
  EXPECT_EQ(joined(mounts_below(image_root()), "\n"), "") << "overlay mounts left";

  // StartContainer twice.
  std::string id = run(pod, container_config("twice", kIdle));
  EXPECT_CODE(grpc::StatusCode::FAILED_PRECONDITION, cri().start_container(id));
  EXPECT_EQ(cri().container_status(id).status().state(), v1::CONTAINER_RUNNING);
}

// ---------------------------------------------------------------------------------------------
// 6. Names are reserved while their pod or container exists.

TEST_F(CriRuntime, NameReuse) {
  ASSERT_TRUE(start_daemon());
  v1::PodSandboxConfig config = pod_config("reused");
  Pod first = run_pod(config);
  EXPECT_CODE(grpc::StatusCode::ALREADY_EXISTS, cri().run_pod(config));
  v1::PodSandboxConfig next_attempt = config;
  next_attempt.mutable_metadata()->set_attempt(1);
  Pod second = run_pod(next_attempt);  // another attempt is another name
  cri().remove_pod(second.id);

  v1::ContainerConfig container = container_config("same", "true");
  std::string id = create(first, container);
  EXPECT_CODE(grpc::StatusCode::ALREADY_EXISTS, create(first, container));
  cri().remove_container(id);
  std::string again;
  EXPECT_CODE(grpc::StatusCode::OK, again = create(first, container));
  EXPECT_FALSE(again.empty());
  EXPECT_NE(again, id);

  cri().stop_pod(first.id);
  cri().remove_pod(first.id);
  Pod reborn;
  EXPECT_CODE(grpc::StatusCode::OK, reborn = run_pod(config));
  EXPECT_NE(reborn.id, first.id);
}

// ---------------------------------------------------------------------------------------------
// 7. Concurrent container lifecycles in one pod.

TEST_F(CriRuntime, Concurrency) {
  ASSERT_TRUE(start_daemon());
  Pod pod = run_pod("concurrency");
  constexpr int kThreads = 6;
  constexpr int kRounds = 5;
  std::mutex failures_mutex;
  std::vector<std::string> failures;
  std::vector<std::thread> workers;
  for (int t = 0; t < kThreads; ++t) {
    workers.emplace_back([&, t] {
      for (int round = 0; round < kRounds; ++round) {
        std::string name = "worker-" + std::to_string(t) + "-" + std::to_string(round);
        try {
          std::string id = run(pod, container_config(name, kIdle));
          auto response = cri().exec_sync(id, {"echo", name}, 20);
          if (response.stdout() != name + "\n" || response.exit_code() != 0) {
            throw std::runtime_error("exec answered \"" + response.stdout() + "\" code " +
                                     std::to_string(response.exit_code()));
          }
          cri().stop_container(id, 0);
          if (cri().container_status(id).status().state() != v1::CONTAINER_EXITED) {
            throw std::runtime_error("not exited after StopContainer");
          }
          cri().remove_container(id);
        } catch (const std::exception& e) {
          std::lock_guard lock(failures_mutex);
          failures.push_back(name + ": " + e.what());
        }
      }
    });
  }
  for (auto& worker : workers) worker.join();
  EXPECT_EQ(joined(failures, "\n"), "");
  EXPECT_TRUE(cri().list_containers().empty());
  EXPECT_EQ(joined(entries_of(state_ + "/containers")), "");
}

// ---------------------------------------------------------------------------------------------
// 8. Containers outlive a killed hanokd; the next one finds them as they are.

TEST_F(CriRuntime, RestartRecovery) {
  ASSERT_TRUE(start_daemon());
  Pod pod = run_pod("recovery");
  std::string counter = run(
      pod, container_config("counter", "i=0; while :; do echo $i; i=$((i+1)); sleep 0.05; done"));
  std::string late_exit = run(pod, container_config("late-exit", "sleep 2; exit 7"));
  std::string created = create(pod, container_config("created", "echo never started"));
  std::string counter_log = log_path_of(counter);
  ASSERT_TRUE(poll_until([&] { return log_messages(counter_log).size() >= 5; }, 10s));

  ASSERT_EQ(::kill(daemon_->pid(), SIGKILL), 0);
  client_.reset();
  daemon_.reset();                  // reaps the killed daemon
  std::this_thread::sleep_for(3s);  // the late-exit container ends while no daemon runs
  size_t lines_without_daemon = log_messages(counter_log).size();
  auto restarted_at = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  ASSERT_TRUE(start_daemon());

  std::map<std::string, v1::Container> listed;
  for (const auto& container : cri().list_containers()) listed[container.id()] = container;
  ASSERT_EQ(listed.size(), 3u);
  EXPECT_EQ(v1::ContainerState_Name(listed[counter].state()), "CONTAINER_RUNNING");
  EXPECT_EQ(v1::ContainerState_Name(listed[late_exit].state()), "CONTAINER_EXITED");
  auto late = cri().container_status(late_exit).status();
  EXPECT_EQ(late.exit_code(), 7);
  EXPECT_EQ(late.reason(), "Error");
  // Its end as the monitor saw it (2 s after its start), not when the new daemon learnt of it.
  EXPECT_GT(late.finished_at() - late.started_at(), 1'500'000'000);
  EXPECT_LT(late.finished_at(), restarted_at);
  EXPECT_EQ(v1::ContainerState_Name(listed[created].state()), "CONTAINER_CREATED");

  // The counter goes on, and its log has every value once.
  ASSERT_TRUE(poll_until(
      [&] { return log_messages(counter_log).size() >= lines_without_daemon + 10; }, 10s));
  cri().start_container(created);  // the created one still starts
  ASSERT_TRUE(cri().wait_for_state(created, v1::CONTAINER_EXITED, 20s));
  cri().stop_pod(pod.id);
  auto values = log_messages(counter_log, "stdout");
  ASSERT_GE(values.size(), 60u);  // over 3 s at 50 ms a line
  for (size_t i = 0; i < values.size(); ++i) {
    ASSERT_EQ(values[i], std::to_string(i)) << "line " << i << " of the counter's log";
  }
  EXPECT_TRUE(log_has(log_path_of(created), "never started"));
  cri().remove_pod(pod.id);
  expect_nothing_left(pod.id);
}

// ---------------------------------------------------------------------------------------------
// 9. ReopenContainerLog, as the kubelet rotates logs: the log renamed while the container writes
// numbered lines as fast as it can, then reopened; every line is in one of the two files, once,
// in order, and the old file gets none after the reopen.

// Where `messages` ("0", "1", ... then "done") first differs from that: "" when it does not.
std::string first_gap(const std::vector<std::string>& messages) {
  if (messages.empty() || messages.back() != "done") return "no \"done\" at the end";
  for (size_t i = 0; i + 1 < messages.size(); ++i) {
    if (messages[i] != std::to_string(i)) {
      return "line " + std::to_string(i) + " is \"" + messages[i] + "\"";
    }
  }
  return "";
}

TEST_F(CriRuntime, ReopenLog) {
  ASSERT_TRUE(start_daemon());
  Pod pod = run_pod("reopen");
  std::string id = run(pod, container_config("counter",
                                             "i=0; while [ ! -e /stop ]; do echo $i; i=$((i+1)); "
                                             "done; echo done"));
  std::string log = log_path_of(id);
  ASSERT_TRUE(poll_until([&] { return log_messages(log).size() >= 3; }, 10s));

  std::string rotated = log + ".1";
  ASSERT_EQ(::rename(log.c_str(), rotated.c_str()), 0);
  cri().reopen_log(id);
  EXPECT_TRUE(isolate::path_exists(log)) << "no new log right after ReopenContainerLog";
  off_t rotated_size = file_size(rotated);
  EXPECT_TRUE(poll_until([&] { return log_messages(log).size() >= 3; }, 10s))
      << "the new log gets no lines";
  EXPECT_EQ(file_size(rotated), rotated_size) << "the rotated log still grows";
  shell(id, "touch /stop");
  ASSERT_TRUE(cri().wait_for_state(id, v1::CONTAINER_EXITED, 20s));

  // Both files in order, a line split across them (P then F) joined.
  std::vector<cri::client::LogLine> lines = read_log(rotated);
  for (auto& line : read_log(log)) lines.push_back(std::move(line));
  std::vector<std::string> messages = cri::client::log_messages(lines, "stdout");
  EXPECT_EQ(first_gap(messages), "") << messages.size() << " lines";
  EXPECT_GE(log_messages(rotated).size(), 3u);
  EXPECT_GE(log_messages(log).size(), 3u);
}

// ---------------------------------------------------------------------------------------------
// 10. The container's security context, seen from inside.

TEST_F(CriRuntime, SecurityContext) {
  ASSERT_TRUE(start_daemon());
  Pod pod = run_pod("security");
  auto with = [&](const std::string& name,
                  const std::function<void(v1::LinuxContainerSecurityContext&)>& set) {
    v1::ContainerConfig config = container_config(name, kIdle);
    set(*config.mutable_linux()->mutable_security_context());
    return run(pod, config);
  };
  auto status_of = [&](const std::string& id, const std::string& key) {
    return status_field(output_of(id, "cat /proc/self/status"), key);
  };

  std::string user = with("user", [](auto& sc) {
    sc.set_run_as_username("user");
    sc.add_supplemental_groups(1234);
  });
  EXPECT_EQ(output_of(user, "id -u"), "1000");
  std::string groups = " " + output_of(user, "id -G") + " ";
  EXPECT_TRUE(contains(groups, " 2000 ")) << groups;  // "extra" of the image's /etc/group
  EXPECT_TRUE(contains(groups, " 1234 ")) << groups;

  std::string no_caps =
      with("no-caps", [](auto& sc) { sc.mutable_capabilities()->add_drop_capabilities("ALL"); });
  EXPECT_EQ(status_of(no_caps, "CapBnd"), "0000000000000000");

  std::string net_admin = with(
      "net-admin", [](auto& sc) { sc.mutable_capabilities()->add_add_capabilities("NET_ADMIN"); });
  uint64_t bounding = std::stoull(status_of(net_admin, "CapBnd"), nullptr, 16);
  EXPECT_TRUE((bounding >> 12) & 1) << std::hex << bounding;  // CAP_NET_ADMIN

  std::string readonly = with("readonly", [](auto& sc) { sc.set_readonly_rootfs(true); });
  EXPECT_NE(shell(readonly, "touch /x").exit_code(), 0) << "wrote to a read-only rootfs";

  std::string masked = with("masked", [](auto& sc) { sc.add_masked_paths("/etc/passwd"); });
  auto passwd = shell(masked, "cat /etc/passwd");
  EXPECT_EQ(passwd.stdout(), "");

  std::string nnp = with("nnp", [](auto& sc) { sc.set_no_new_privs(true); });
  EXPECT_EQ(status_of(nnp, "NoNewPrivs"), "1");

  // RuntimeDefault denies unshare without CAP_SYS_ADMIN: a user namespace, which needs no
  // capability, is refused EPERM; an unconfined container makes one. mkdir(NULL) is allowed
  // (EFAULT from the kernel).
  const std::string new_user_ns =
      "hanok-probe syscall " + std::to_string(SYS_unshare) + " " + std::to_string(CLONE_NEWUSER);
  const std::string mkdir_null = "hanok-probe syscall " + std::to_string(SYS_mkdir);
  std::string filtered = with("seccomp", [](auto& sc) {
    sc.mutable_seccomp()->set_profile_type(v1::SecurityProfile::RuntimeDefault);
  });
  EXPECT_EQ(status_of(filtered, "Seccomp"), "2");
  EXPECT_EQ(output_of(filtered, new_user_ns), "errno 1");
  EXPECT_EQ(output_of(filtered, mkdir_null), "errno 14");
  std::string unconfined = with("unconfined", [](auto& sc) {
    sc.mutable_seccomp()->set_profile_type(v1::SecurityProfile::Unconfined);
  });
  EXPECT_EQ(status_of(unconfined, "Seccomp"), "0");
  EXPECT_EQ(output_of(unconfined, new_user_ns), "ok");

  // A Localhost profile, a file on the node: its rule, with its errno, and its default.
  std::string profile = dir_ + "/no-mkdir.json";
  isolate::write_file_atomic(profile, R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
      {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 95}]})");
  std::string local = with("localhost", [&](auto& sc) {
    sc.mutable_seccomp()->set_profile_type(v1::SecurityProfile::Localhost);
    sc.mutable_seccomp()->set_localhost_ref(profile);
  });
  EXPECT_EQ(status_of(local, "Seccomp"), "2");
  EXPECT_EQ(output_of(local, mkdir_null), "errno 95");
  EXPECT_EQ(output_of(local, new_user_ns), "ok");

  v1::ContainerConfig privileged = container_config("privileged", kIdle);
  privileged.mutable_linux()->mutable_security_context()->set_privileged(true);
  CallOutcome refused = outcome_of([&] { create(pod, privileged); });
  EXPECT_EQ(code_name(refused.code), "INVALID_ARGUMENT") << refused;
  EXPECT_TRUE(contains(refused.message, "privileged")) << refused;
}

// ---------------------------------------------------------------------------------------------
// 11. What containers share through their pod.

TEST_F(CriRuntime, PodNamespaces) {
  ASSERT_TRUE(start_daemon());
  v1::PodSandboxConfig config = pod_config("namespaces");
  config.set_hostname("podhost");
  (*config.mutable_linux()->mutable_sysctls())["kernel.shm_rmid_forced"] = "1";
  config.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(v1::POD);
  auto* dns = config.mutable_dns_config();
  dns->add_servers("10.0.0.53");
  dns->add_searches("svc.example");
  dns->add_options("ndots:3");
  Pod pod = run_pod(config);

  auto with_pid_mode = [&](const std::string& name, const std::string& script,
                           v1::NamespaceMode mode) {
    v1::ContainerConfig container = container_config(name, script);
    container.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(
        mode);
    return run(pod, container);
  };
  std::string a = with_pid_mode("a", "exec sleep 1001", v1::POD);
  std::string b = with_pid_mode("b", "exec sleep 1002", v1::POD);
  std::string own = with_pid_mode("own", "exec sleep 1003", v1::CONTAINER);

  EXPECT_EQ(output_of(a, "hostname"), "podhost");
  std::string net_a = output_of(a, "readlink /proc/self/ns/net");
  EXPECT_EQ(output_of(b, "readlink /proc/self/ns/net"), net_a);
  EXPECT_NE(std::filesystem::read_symlink("/proc/self/ns/net").string(), net_a);
  EXPECT_EQ(output_of(b, "cat /proc/sys/kernel/shm_rmid_forced"), "1");

  std::string ps_a = output_of(a, "ps -o args");
  EXPECT_TRUE(contains(ps_a, "sleep 1002")) << ps_a;
  std::string ps_b = output_of(b, "ps -o args");
  EXPECT_TRUE(contains(ps_b, "sleep 1001")) << ps_b;
  EXPECT_FALSE(contains(ps_b, "sleep 1003")) << ps_b;
  EXPECT_EQ(output_of(a, "cat /proc/1/comm"), "hanok-pod-init");
  // Nothing of the node (the helper's flags, the state dir's path) shows in the pod's PID 1.
  EXPECT_EQ(output_of(a, "tr '\\0' ' ' < /proc/1/cmdline"), "hanok-pod-init ");
  EXPECT_EQ(output_of(own, "tr '\\0' ' ' < /proc/1/cmdline"), "sleep 1003 ");
  // The pod's PID 1 holds nothing a container could use: no capabilities, nobody's ids, no
  // new privileges, and signals sent to it from the pod change nothing.
  std::string init_status = output_of(a, "cat /proc/1/status");
  EXPECT_TRUE(contains(init_status, "Uid:\t65534\t65534\t65534\t65534")) << init_status;
  EXPECT_TRUE(contains(init_status, "CapEff:\t0000000000000000")) << init_status;
  EXPECT_TRUE(contains(init_status, "CapBnd:\t0000000000000000")) << init_status;
  EXPECT_TRUE(contains(init_status, "NoNewPrivs:\t1")) << init_status;
  shell(a, "kill -TERM 1; kill -INT 1; kill -HUP 1; kill -USR1 1");
  EXPECT_EQ(output_of(b, "cat /proc/1/comm"), "hanok-pod-init");

  std::string resolv = output_of(a, "cat /etc/resolv.conf");
  EXPECT_TRUE(contains(resolv, "nameserver 10.0.0.53")) << resolv;
  EXPECT_TRUE(contains(resolv, "search svc.example")) << resolv;
  EXPECT_TRUE(contains(resolv, "options ndots:3")) << resolv;
}

// ---------------------------------------------------------------------------------------------
// 12. GetContainerEvents.

TEST_F(CriRuntime, Events) {
  ASSERT_TRUE(start_daemon());
  Pod pod = run_pod("events");
  EventCollector events(cri().runtime());
  // The stream has no acknowledgement: containers made and removed until one of theirs arrives
  // tell that it is subscribed.
  bool subscribed = false;
  for (int attempt = 0; attempt < 5 && !subscribed; ++attempt) {
    v1::ContainerConfig probe = container_config("probe", "true");
    probe.mutable_metadata()->set_attempt(attempt);
    std::string probe_id = create(pod, probe);
    cri().remove_container(probe_id);
    subscribed = events.wait_for(probe_id, 1, 2s);
  }
  ASSERT_TRUE(subscribed) << "no event of the probe containers arrived";

  std::string id = run(pod, container_config("watched", kIdle));
  cri().stop_container(id, 0);
  cri().remove_container(id);
  EXPECT_TRUE(events.wait_for(id, 4, 10s)) << event_names(events.types_for(id));
  EXPECT_EQ(event_names(events.types_for(id)),
            event_names({v1::CONTAINER_CREATED_EVENT, v1::CONTAINER_STARTED_EVENT,
                         v1::CONTAINER_STOPPED_EVENT, v1::CONTAINER_DELETED_EVENT}));
}

// ---------------------------------------------------------------------------------------------
// 13. UpdateContainerResources on a running container.

TEST_F(CriRuntime, UpdateContainerResources) {
  ASSERT_TRUE(start_daemon());
  Pod pod = run_pod("update");
  std::string id = run(pod, container_config("resized", kIdle));
  v1::LinuxContainerResources resources;
  resources.set_memory_limit_in_bytes(64 * kMiB);
  cri().update_resources(id, resources);

  std::string limit_file = cgroup_v2_host() ? "/sys/fs/cgroup/memory.max"
                                            : "/sys/fs/cgroup/memory/memory.limit_in_bytes";
  EXPECT_EQ(output_of(id, "cat " + limit_file), std::to_string(64 * kMiB));
  auto status = cri().container_status(id).status();
  EXPECT_EQ(status.resources().linux().memory_limit_in_bytes(), 64 * kMiB);
}

// ---------------------------------------------------------------------------------------------
// 14. An image removed while a container uses it.

TEST_F(CriRuntime, ImageInUse) {
  ASSERT_TRUE(start_daemon());
  Pod pod = run_pod("image-in-use");
  std::string id = create(pod, container_config("user", kIdle));

  grpc::ClientContext context;
  v1::RemoveImageRequest request;
  request.mutable_image()->set_image(image());
  v1::RemoveImageResponse response;
  grpc::Status removed = cri().images().RemoveImage(&context, request, &response);
  ASSERT_TRUE(removed.ok()) << removed.error_message();
  for (const auto& listed : cri().list_images()) {
    for (const auto& tag : listed.repo_tags()) EXPECT_NE(tag, image());
  }

  cri().start_container(id);
  std::string hello = isolate::read_file(fixture_rootfs() + "/etc/fixture-data/hello.txt");
  EXPECT_EQ(shell(id, "cat /etc/fixture-data/hello.txt").stdout(), hello);
  EXPECT_FALSE(entries_of(image_root() + "/snapshots").empty());

  // The container's lease was all that kept the layers: they go with it.
  cri().remove_container(id);
  EXPECT_EQ(joined(entries_of(image_root() + "/snapshots")), "")
      << "the removed image's layers stay after its last container went";
}

// ---------------------------------------------------------------------------------------------
// 15. Images made to reach outside their rootfs.

// A copy of the fixture rootfs under `dir`, changed by `change` (a shell script run in it).
std::string hostile_rootfs(const std::string& dir, const std::string& change) {
  Result copy = run_program({"/bin/cp", "-a", "-T", fixture_rootfs(), dir});
  EXPECT_EQ(copy.exit_code, 0) << copy.err;
  Result changed = run_program({"/bin/sh", "-c", "cd '" + dir + "' && " + change});
  EXPECT_EQ(changed.exit_code, 0) << changed.err;
  return dir;
}

TEST_F(CriRuntime, HostileImageSymlinks) {
  struct passwd* host_daemon = ::getpwnam("daemon");
  HANOK_REQUIRE(host_daemon != nullptr && isolate::path_exists("/etc/shadow"),
                "needs a host user \"daemon\" and /etc/shadow");
  ASSERT_FALSE(contains(isolate::read_file(fixture_rootfs() + "/etc/passwd"), "daemon:"));
  std::string rootfs = hostile_rootfs(dir_ + "/links-rootfs",
                                      "rm -f etc/passwd etc/group etc/hosts && "
                                      "ln -s ../../../../../../../../etc/passwd etc/passwd && "
                                      "ln -s /../../../etc/group etc/group && "
                                      "ln -s /etc/shadow etc/hosts");
  make_layout(dir_ + "/links-layout", {"--from", rootfs});
  FakeRegistry hostile({"hostile/links=" + dir_ + "/links-layout"}, dir_ + "/hostile.jsonl");
  ASSERT_TRUE(start_daemon("", {hostile.host()}));
  std::string hostile_image = hostile.host() + "/hostile/links:latest";
  cri().pull(hostile_image);
  FileSnapshot shadow_before = snapshot_of("/etc/shadow");

  Pod pod = run_pod("hostile");
  v1::ContainerConfig by_name = container_config("by-name", kIdle);
  by_name.mutable_image()->set_image(hostile_image);
  by_name.mutable_linux()->mutable_security_context()->set_run_as_username("daemon");
  CallOutcome named = outcome_of([&] { create(pod, by_name); });
  EXPECT_EQ(code_name(named.code), "INVALID_ARGUMENT")
      << "\"daemon\" resolved through the host's /etc/passwd? " << named;

  v1::ContainerConfig by_uid = container_config("by-uid", kIdle);
  by_uid.mutable_image()->set_image(hostile_image);
  by_uid.mutable_linux()->mutable_security_context()->mutable_run_as_user()->set_value(1000);
  std::string id = run(pod, by_uid);
  EXPECT_EQ(output_of(id, "id -u"), "1000");
  EXPECT_EQ(output_of(id, "id -g"), "0");
  EXPECT_EQ(output_of(id, "id -G"), "0");  // no group of the host's /etc/group
  std::string hosts = shell(id, "cat /etc/hosts").stdout();
  EXPECT_TRUE(contains(hosts, "localhost")) << hosts;
  EXPECT_FALSE(contains(hosts, "root:")) << "the host's /etc/shadow shows through";

  cri().stop_pod(pod.id);
  cri().remove_pod(pod.id);
  EXPECT_TRUE(snapshot_of("/etc/shadow") == shadow_before) << "the host's /etc/shadow changed";
}

// An image's /etc/passwd or /etc/group that is not a regular file (a fifo would hang a reader,
// a device's open can act: a watchdog reboots the node) is never opened: CreateContainer fails at
// once, naming the file, whoever the container runs as, and leaves nothing behind.
TEST_F(CriRuntime, HostileImageAccountsFilesThatAreNotFiles) {
  std::string rootfs =
      hostile_rootfs(dir_ + "/odd-rootfs",
                     "rm -f etc/passwd etc/group && mknod etc/passwd c 1 3 && mkfifo etc/group");
  make_layout(dir_ + "/odd-layout", {"--from", rootfs});
  std::string group_fifo =
      hostile_rootfs(dir_ + "/fifo-rootfs", "rm -f etc/group && mkfifo etc/group");
  make_layout(dir_ + "/fifo-layout", {"--from", group_fifo});
  FakeRegistry hostile(
      {"hostile/odd=" + dir_ + "/odd-layout", "hostile/fifo=" + dir_ + "/fifo-layout"},
      dir_ + "/hostile.jsonl");
  ASSERT_TRUE(start_daemon("", {hostile.host()}));
  Pod pod = run_pod("odd");
  CriClient impatient(daemon_->socket(), std::chrono::seconds(15));
  struct Case {
    std::string image;
    std::string user;  // run_as_username; "" for the image's (root)
    std::string named;
  };
  for (const Case& c : {Case{"hostile/odd", "", "/etc/passwd is a character device"},
                        Case{"hostile/odd", "user", "/etc/passwd is a character device"},
                        Case{"hostile/fifo", "", "/etc/group is a fifo"}}) {
    cri().pull(hostile.host() + "/" + c.image + ":latest");
    v1::ContainerConfig config = container_config("odd", kIdle);
    config.mutable_image()->set_image(hostile.host() + "/" + c.image + ":latest");
    if (!c.user.empty()) {
      config.mutable_linux()->mutable_security_context()->set_run_as_username(c.user);
    }
    // A hang on the file would end in DEADLINE_EXCEEDED (the client's 15 s).
    CallOutcome created =
        outcome_of([&] { impatient.create_container(pod.id, config, pod.config); });
    EXPECT_EQ(code_name(created.code), "INVALID_ARGUMENT") << c.image << ": " << created;
    EXPECT_TRUE(contains(created.message, c.named)) << created;
  }
  EXPECT_EQ(joined(entries_of(state_ + "/containers")), "");
  EXPECT_EQ(joined(mounts_below(image_root()), "\n"), "");
}

// ---------------------------------------------------------------------------------------------
// 16. SIGTERM ends hanokd (exit status 0, its socket gone), never its containers.

TEST_F(CriRuntime, SigtermEndsOnlyTheDaemon) {
  ASSERT_TRUE(start_daemon());
  Pod pod = run_pod("sigterm");
  std::string id = run(pod, container_config("survivor", kIdle));
  std::string socket = daemon_->socket();
  client_.reset();
  auto start = Clock::now();
  int status = daemon_->stop(15);
  EXPECT_LT(Clock::now() - start, 10s);
  // Every thread of hanokd (its exit watcher's too) has SIGTERM blocked: the signal reaches the
  // thread that waits for it, never a default action that kills the daemon and leaves its socket.
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "hanokd's wait status after SIGTERM: " << status << "\n"
      << daemon_->log();
  EXPECT_FALSE(isolate::path_exists(socket)) << "hanokd left its socket";

  ASSERT_TRUE(start_daemon());
  EXPECT_EQ(v1::ContainerState_Name(cri().container_status(id).status().state()),
            "CONTAINER_RUNNING");
  EXPECT_EQ(output_of(id, "echo alive"), "alive");
}

// ---------------------------------------------------------------------------------------------
// The streamed list calls, on a node with thousands of records: 2,000 pods (without processes,
// as a node keeps them after they stopped) and 2,000 exited containers, written to hanokd's
// database while it is stopped. Every item comes once, in chunks of bounded size, with the
// filters of the unary lists.

// All the chunks of a server-streamed call: their item counts.
template <typename Response, typename Count>
std::vector<int> chunk_sizes(grpc::ClientReaderInterface<Response>& reader, Count count,
                             size_t& largest_bytes) {
  std::vector<int> sizes;
  Response chunk;
  while (reader.Read(&chunk)) {
    sizes.push_back(count(chunk));
    largest_bytes = std::max(largest_bytes, chunk.ByteSizeLong());
  }
  auto status = reader.Finish();
  EXPECT_TRUE(status.ok()) << status.error_message();
  return sizes;
}

int total(const std::vector<int>& sizes) {
  int sum = 0;
  for (int size : sizes) sum += size;
  return sum;
}

TEST_F(CriRuntime, StreamedListsOfThousands) {
  ASSERT_TRUE(start_daemon());
  Pod pod = run_pod("template");
  std::string template_container = run(pod, container_config("template-container", "true"));
  ASSERT_TRUE(cri().wait_for_state(template_container, v1::CONTAINER_EXITED, 20s));
  client_.reset();
  ASSERT_NE(daemon_->stop(), -1);
  daemon_.reset();

  constexpr int kMany = 2000;
  std::string database = image_root() + "/metadata.db";
  {
    auto db = images::sqlite::open_database(database);
    images::sqlite::Stmt read_pod(db.get(), "SELECT record FROM cri_pods", "read the pod");
    ASSERT_TRUE(read_pod.step());
    store::PodRecord pod_record;
    ASSERT_TRUE(pod_record.ParseFromString(read_pod.text(0)));
    images::sqlite::Stmt read_container(db.get(), "SELECT record FROM cri_containers",
                                        "read the container");
    ASSERT_TRUE(read_container.step());
    store::ContainerRecord container_record;
    ASSERT_TRUE(container_record.ParseFromString(read_container.text(0)));

    images::sqlite::Transaction transaction(db.get(), "insert records");
    images::sqlite::Stmt put_pod(db.get(), "INSERT INTO cri_pods(id, record) VALUES(?, ?)",
                                 "insert a pod");
    images::sqlite::Stmt put_container(
        db.get(), "INSERT INTO cri_containers(id, pod_id, record) VALUES(?, ?, ?)",
        "insert a container");
    for (int i = 0; i < kMany; ++i) {
      char id[65];
      std::snprintf(id, sizeof id, "%064x", 0xa0000 + i);
      store::PodRecord copy = pod_record;
      copy.set_id(id);
      copy.set_state(v1::SANDBOX_NOTREADY);
      copy.clear_pinned();
      copy.clear_ips();
      copy.set_init_pid(0);
      copy.set_dir(state_ + "/pods/" + id);
      copy.mutable_config()->mutable_metadata()->set_name("many-" + std::to_string(i));
      copy.mutable_config()->mutable_metadata()->set_uid("uid-many-" + std::to_string(i));
      (*copy.mutable_config()->mutable_labels())["half"] = i % 2 == 0 ? "even" : "odd";
      put_pod.reset();
      put_pod.bind(1, std::string(id)).bind_blob(2, copy.SerializeAsString()).run();

      std::snprintf(id, sizeof id, "%064x", 0xb0000 + i);
      store::ContainerRecord container = container_record;
      container.set_id(id);
      container.mutable_config()->mutable_metadata()->set_name("many-" + std::to_string(i));
      container.set_bundle(state_ + "/containers/" + id);
      put_container.reset();
      put_container.bind(1, std::string(id))
          .bind(2, container.pod_id())
          .bind_blob(3, container.SerializeAsString())
          .run();
    }
    transaction.commit();
  }
  ASSERT_TRUE(start_daemon());

  auto& stub = cri().runtime();
  size_t largest = 0;
  {
    auto context = cri().context();
    v1::StreamPodSandboxesRequest request;
    auto reader = stub.StreamPodSandboxes(context.get(), request);
    auto sizes = chunk_sizes(
        *reader, [](const v1::StreamPodSandboxesResponse& r) { return r.pod_sandboxes_size(); },
        largest);
    EXPECT_EQ(total(sizes), kMany + 1);
    EXPECT_GE(sizes.size(), 8u);
    for (int size : sizes) EXPECT_LE(size, 256);
  }
  {
    auto context = cri().context();
    v1::StreamPodSandboxesRequest request;
    (*request.mutable_filter()->mutable_label_selector())["half"] = "odd";
    auto reader = stub.StreamPodSandboxes(context.get(), request);
    auto sizes = chunk_sizes(
        *reader, [](const v1::StreamPodSandboxesResponse& r) { return r.pod_sandboxes_size(); },
        largest);
    EXPECT_EQ(total(sizes), kMany / 2);
  }
  {
    auto context = cri().context();
    v1::StreamContainersRequest request;
    request.mutable_filter()->mutable_state()->set_state(v1::CONTAINER_EXITED);
    auto reader = stub.StreamContainers(context.get(), request);
    auto sizes = chunk_sizes(
        *reader, [](const v1::StreamContainersResponse& r) { return r.containers_size(); },
        largest);
    EXPECT_EQ(total(sizes), kMany + 1);
  }
  {
    auto context = cri().context();
    v1::StreamContainerStatsRequest request;
    auto reader = stub.StreamContainerStats(context.get(), request);
    auto sizes = chunk_sizes(
        *reader, [](const v1::StreamContainerStatsResponse& r) { return r.container_stats_size(); },
        largest);
    EXPECT_EQ(total(sizes), kMany + 1);
  }
  {
    auto context = cri().context();
    v1::StreamImagesRequest request;
    auto reader = cri().images().StreamImages(context.get(), request);
    auto sizes = chunk_sizes(
        *reader, [](const v1::StreamImagesResponse& r) { return r.images_size(); }, largest);
    EXPECT_EQ(total(sizes), 1);
  }
  EXPECT_LE(largest, size_t{1} << 20) << "a chunk larger than 1 MiB";
  // The unary lists agree.
  EXPECT_EQ(cri().list_pods().size(), static_cast<size_t>(kMany + 1));
  EXPECT_EQ(cri().list_containers().size(), static_cast<size_t>(kMany + 1));

  // The records go as they came (TearDown removes the template pod through the CRI).
  client_.reset();
  ASSERT_NE(daemon_->stop(), -1);
  daemon_.reset();
  {
    auto db = images::sqlite::open_database(database);
    images::sqlite::Stmt drop_pods(db.get(), "DELETE FROM cri_pods WHERE id != ?", "drop pods");
    drop_pods.bind(1, pod.id).run();
    images::sqlite::Stmt drop_containers(db.get(), "DELETE FROM cri_containers WHERE id != ?",
                                         "drop containers");
    drop_containers.bind(1, template_container).run();
  }
  ASSERT_TRUE(start_daemon());
}

// ---------------------------------------------------------------------------------------------
// UpdatePodSandboxResources: the pod's resources plus its overhead on the pod's cgroup, as its
// containers see them from inside (the pod cgroup is their parent).

TEST_F(CriRuntime, PodResize) {
  ASSERT_TRUE(start_daemon());
  Pod pod = run_pod("resize");
  std::string id = run(pod, container_config("inside", kIdle));
  v1::UpdatePodSandboxResourcesRequest request;
  request.set_pod_sandbox_id(pod.id);
  request.mutable_resources()->set_memory_limit_in_bytes(64 * kMiB);
  request.mutable_resources()->set_cpu_period(100000);
  request.mutable_resources()->set_cpu_quota(50000);
  request.mutable_overhead()->set_memory_limit_in_bytes(16 * kMiB);
  request.mutable_overhead()->set_cpu_quota(10000);
  v1::UpdatePodSandboxResourcesResponse response;
  auto context = cri().context();
  auto status = cri().runtime().UpdatePodSandboxResources(context.get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();

  std::string memory = pod_memory_cgroup(pod.id);
  if (cgroup_v2_host()) {
    EXPECT_EQ(isolate::read_file(memory + "/memory.max"), std::to_string(80 * kMiB) + "\n");
    EXPECT_EQ(isolate::read_file(memory + "/cpu.max"), "60000 100000\n");
  } else {
    EXPECT_EQ(isolate::read_file(memory + "/memory.limit_in_bytes"),
              std::to_string(80 * kMiB) + "\n");
    EXPECT_EQ(isolate::read_file("/sys/fs/cgroup/cpu/hanok/" + pod.id + "/cpu.cfs_quota_us"),
              "60000\n");
  }
  // The container in it can use no more than the pod's memory.
  v1::ContainerConfig hog = container_config("hog", "tail /dev/zero");
  std::string hog_id = run(pod, hog);
  ASSERT_TRUE(cri().wait_for_state(hog_id, v1::CONTAINER_EXITED, 60s));
  EXPECT_EQ(cri().container_status(hog_id).status().reason(), "OOMKilled");
  EXPECT_EQ(cri().container_status(id).status().state(), v1::CONTAINER_RUNNING);

  // Bad values name the field; an unknown pod is NOT_FOUND.
  request.mutable_overhead()->set_cpu_quota(-5);
  context = cri().context();
  status = cri().runtime().UpdatePodSandboxResources(context.get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(contains(status.error_message(), "overhead.")) << status.error_message();
  request.mutable_overhead()->set_cpu_quota(0);
  request.set_pod_sandbox_id(kUnknownId);
  context = cri().context();
  EXPECT_EQ(
      cri().runtime().UpdatePodSandboxResources(context.get(), request, &response).error_code(),
      grpc::StatusCode::NOT_FOUND);
}

// ContainerStats and ListContainerStats from the container's cgroup: a container holding 30 MiB
// shows at least that working set, its cpu time grows, its writable layer counts the file it
// wrote; on cgroup v2 the cpu, memory and io pressure (PSI) are there as the kernel reports them.
TEST_F(CriRuntime, ContainerStatsFromTheCgroup) {
  // The collector samples cpu and walks the writable layers twice a second.
  ASSERT_TRUE(start_daemon("stats_collect_period_ms = 500"));
  Pod pod = run_pod("stats");
  std::string id = run(pod, container_config("holder",
                                             "head -c 31457280 /dev/zero > /dev/shm/held; "
                                             "head -c 1048576 /dev/zero > /written; "
                                             "while true; do :; done"));
  auto stats_of = [&] {
    v1::ContainerStatsRequest request;
    request.set_container_id(id);
    v1::ContainerStatsResponse response;
    auto status = cri().runtime().ContainerStats(cri().context().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.stats();
  };
  v1::ContainerStats stats;
  ASSERT_TRUE(poll_until(
      [&] {
        stats = stats_of();
        return stats.memory().working_set_bytes().value() >= (30ULL << 20) &&
               stats.writable_layer().used_bytes().value() >= (1ULL << 20);
      },
      20s))
      << stats.DebugString();
  EXPECT_EQ(stats.attributes().id(), id);
  EXPECT_EQ(stats.attributes().metadata().name(), "holder");
  uint64_t cpu = stats.cpu().usage_core_nano_seconds().value();
  EXPECT_GT(cpu, 0u);
  EXPECT_GE(stats.writable_layer().inodes_used().value(), 1u);
  // usage_nano_cores once the collector has two samples.
  ASSERT_TRUE(poll_until([&] { return stats_of().cpu().has_usage_nano_cores(); }, 10s));
  stats = stats_of();
  EXPECT_GT(stats.cpu().usage_core_nano_seconds().value(), cpu);
  EXPECT_GT(stats.cpu().usage_nano_cores().value(), 100'000'000u) << "a busy loop uses a core";
  if (cgroup_v2_host() && isolate::path_exists("/sys/fs/cgroup/cpu.pressure")) {
    EXPECT_TRUE(stats.cpu().has_psi()) << stats.DebugString();
    EXPECT_TRUE(stats.memory().has_psi());
    EXPECT_TRUE(stats.io().has_psi());
    EXPECT_GT(stats.io().timestamp(), 0);
  }

  // The list: filtered by id, by pod, by label; an exited container has no cpu or memory.
  std::string done = run(pod, container_config("done", "true"));
  ASSERT_TRUE(cri().wait_for_state(done, v1::CONTAINER_EXITED, 20s));
  auto list = [&](const v1::ContainerStatsFilter& filter) {
    v1::ListContainerStatsRequest request;
    *request.mutable_filter() = filter;
    v1::ListContainerStatsResponse response;
    auto status = cri().runtime().ListContainerStats(cri().context().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    std::vector<std::string> ids;
    for (const auto& item : response.stats()) ids.push_back(item.attributes().id());
    return sorted(ids);
  };
  EXPECT_EQ(list({}), sorted({id, done}));
  v1::ContainerStatsFilter by_id;
  by_id.set_id(id);
  EXPECT_EQ(list(by_id), std::vector<std::string>{id});
  v1::ContainerStatsFilter by_pod;
  by_pod.set_pod_sandbox_id(pod.id);
  EXPECT_EQ(list(by_pod), sorted({id, done}));
  v1::ContainerStatsFilter other_pod;
  other_pod.set_pod_sandbox_id("no-such-pod");
  EXPECT_TRUE(list(other_pod).empty());
}

// Status's verbose info names what is served: the cgroup version and driver, seccomp, and
// whether checkpoint/restore can run (with CRIU's version, or why not); RuntimeConfig the cgroup
// driver the kubelet must match.
TEST_F(CriRuntime, StatusAndRuntimeConfigNameWhatIsServed) {
  ASSERT_TRUE(start_daemon());
  auto info = nlohmann::json::parse(cri().status(true).info().at("info"));
  EXPECT_EQ(info.value("cgroupMode", ""), cgroup_v2_host() ? "unified" : "hybrid") << info.dump();
  EXPECT_EQ(info.value("cgroupDriver", ""), "cgroupfs");
  EXPECT_EQ(info["features"].value("seccomp", false), true);
  auto checkpoint = info["features"]["checkpointRestore"];
  ASSERT_TRUE(checkpoint.is_object()) << info.dump();
  EXPECT_EQ(checkpoint.value("criu", ""), "/usr/sbin/criu");
  EXPECT_TRUE(contains(checkpoint.value("criuVersion", ""), "3.")) << checkpoint.dump();
  // Either it can run, or it says why not.
  EXPECT_EQ(checkpoint.value("available", false), checkpoint.value("problem", "").empty())
      << checkpoint.dump();

  v1::RuntimeConfigResponse config;
  auto status =
      cri().runtime().RuntimeConfig(cri().context().get(), v1::RuntimeConfigRequest(), &config);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(config.linux().cgroup_driver(), v1::CGROUPFS);
}

}  // namespace
}  // namespace hanok::test
