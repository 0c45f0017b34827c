// What a real kubelet relies on beyond critest, each as the kubelet's code reads it: the pid
// mode pair containerd accepts, ImageFsInfo's filesystems (eviction), stats from the background
// collector (usage_nano_cores, available bytes, writable layers), the evented PLEG's statuses and
// events, exits that never wait for each other, pod resources recorded in a cgroup the kubelet
// owns, and containerd's 16 MiB request limit.
#include <sys/mount.h>
#include <sys/stat.h>

#include <future>
#include <map>
#include <set>
#include <thread>

#include "cri_fixture.hpp"
#include "isolate/error.hpp"

namespace hanok::test {
namespace {

class CriKubeletParity : public CriFixture {};

// ---------------------------------------------------------------------------------------------
// A pod with pid mode CONTAINER (the kubelet's default) and a container leaving its pid mode at
// the default (POD), as crictl users write them: accepted as containerd does, the container in
// the pod's PID namespace (whose PID 1 is the pod init, as containerd's pause); a container
// asking for CONTAINER gets one of its own.

TEST_F(CriKubeletParity, PidModePodInAPodWithPidModeContainer) {
  ASSERT_TRUE(start_daemon());
  v1::PodSandboxConfig config = pod_config("pid-pair");
  config.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(
      v1::CONTAINER);
  Pod pod = run_pod(config);
  std::string joined_pod = run(pod, container_config("joins", kIdle));
  EXPECT_EQ(output_of(joined_pod, "cat /proc/1/comm"), "hanok-pod-init");
  v1::ContainerConfig own = container_config("own", kIdle);
  own.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_pid(
      v1::CONTAINER);
  std::string own_id = run(pod, own);
  EXPECT_EQ(output_of(own_id, "cat /proc/1/comm"), "sleep");
  cri().stop_pod(pod.id);
  cri().remove_pod(pod.id);
  expect_nothing_left(pod.id);
}

// ---------------------------------------------------------------------------------------------
// ImageFsInfo: the kubelet (1.30, 1.31) takes a container filesystem in the answer for a split
// image filesystem when the two mountpoints differ as strings, and then ranks no pod for
// eviction. So one is reported only when the writable layers are on another filesystem.

TEST_F(CriKubeletParity, ImageFsInfoReportsAContainerFilesystemOnlyWhenItIsAnotherOne) {
  ASSERT_TRUE(start_daemon());
  Pod pod = run_pod("fs-info");
  std::string id = run(
      pod, container_config("writer", "head -c 1048576 /dev/zero > /big; " + std::string(kIdle)));
  auto context = cri().context();
  v1::ImageFsInfoResponse one_fs;
  ASSERT_TRUE(cri().images().ImageFsInfo(context.get(), {}, &one_fs).ok());
  ASSERT_EQ(one_fs.image_filesystems_size(), 1);
  EXPECT_EQ(one_fs.container_filesystems_size(), 0);
  EXPECT_EQ(one_fs.image_filesystems(0).fs_id().mountpoint(), image_root());
  EXPECT_GT(one_fs.image_filesystems(0).used_bytes().value(), 0u);
  cri().stop_pod(pod.id);
  cri().remove_pod(pod.id);
  (void)id;

  // The writable layers on a filesystem of their own (a tmpfs at <root>/containers).
  client_.reset();
  daemon_->stop();
  daemon_.reset();
  std::string layers = image_root() + "/containers";
  ASSERT_EQ(::mount("tmpfs", layers.c_str(), "tmpfs", 0, "mode=0700,size=64m"), 0)
      << isolate::errno_text(errno);
  ASSERT_TRUE(launch_daemon());
  context = cri().context();
  v1::ImageFsInfoResponse split;
  ASSERT_TRUE(cri().images().ImageFsInfo(context.get(), {}, &split).ok());
  ASSERT_EQ(split.image_filesystems_size(), 1);
  ASSERT_EQ(split.container_filesystems_size(), 1);
  EXPECT_EQ(split.image_filesystems(0).fs_id().mountpoint(), image_root());
  EXPECT_EQ(split.container_filesystems(0).fs_id().mountpoint(), layers);
  client_.reset();
  daemon_->stop();
  daemon_.reset();
  ::umount2(layers.c_str(), MNT_DETACH);
}

// ---------------------------------------------------------------------------------------------
// Stats from the background collector.

uint64_t nano_cores_of(const v1::ContainerStats& stats) {
  return stats.cpu().has_usage_nano_cores() ? stats.cpu().usage_nano_cores().value() : 0;
}

v1::ContainerStats stats_of(CriClient& cri, const std::string& id) {
  v1::ContainerStatsRequest request;
  request.set_container_id(id);
  v1::ContainerStatsResponse response;
  auto context = cri.context();
  auto status = cri.runtime().ContainerStats(context.get(), request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return response.stats();
}

// usage_nano_cores is the rate between the collector's own last two samples: unset before there
// are two, and the same for two pollers asking at once (not a rate over the milliseconds between
// them, nor 0 for whichever asked first).
TEST_F(CriKubeletParity, UsageNanoCoresIsTheSameForConcurrentPollers) {
  ASSERT_TRUE(start_daemon("stats_collect_period_ms = 2000"));
  Pod pod = run_pod("nano-cores");
  v1::ContainerConfig config = container_config("spinner", "while :; do :; done");
  config.mutable_linux()->mutable_resources()->set_cpu_period(100000);
  config.mutable_linux()->mutable_resources()->set_cpu_quota(30000);  // 0.3 cpu
  std::string id = run(pod, config);
  EXPECT_FALSE(stats_of(cri(), id).cpu().has_usage_nano_cores())
      << "a rate before the collector's second sample";
  ASSERT_TRUE(poll_until([&] { return stats_of(cri(), id).cpu().has_usage_nano_cores(); }, 15s));

  int equal = 0;
  for (int attempt = 0; attempt < 5 && equal < 2; ++attempt) {
    std::this_thread::sleep_for(200ms);
    auto first = std::async(std::launch::async, [&] { return stats_of(cri(), id); });
    auto second = std::async(std::launch::async, [&] { return stats_of(cri(), id); });
    uint64_t a = nano_cores_of(first.get());
    uint64_t b = nano_cores_of(second.get());
    // About 0.3 cpu, whoever asks.
    EXPECT_GT(a, 100'000'000u);
    EXPECT_LT(a, 600'000'000u);
    if (a == b) ++equal;  // a collector sample between the two calls changes it, rarely
  }
  EXPECT_GE(equal, 2) << "concurrent pollers saw different rates";
}

// Memory available is the limit less the working set (the kubelet's eviction and containerd's),
// not less the usage, which counts page cache the kernel reclaims. On the host's cgroup v1 the
// file's pages are inactive_file (usage > working set); the VM's kernel (cgroup v2, its LRU)
// reports them active, where the two readings cannot be told apart: so this is a host test.
TEST_F(CriKubeletParity, AvailableBytesIsTheLimitLessTheWorkingSet) {
  ASSERT_TRUE(start_daemon());
  Pod pod = run_pod("available");
  v1::ContainerConfig config = container_config(
      "cache",
      "dd if=/dev/zero of=/cached bs=1M count=24 2>/dev/null; echo ready; " + std::string(kIdle));
  config.mutable_linux()->mutable_resources()->set_memory_limit_in_bytes(128 * kMiB);
  std::string id = run(pod, config);
  ASSERT_TRUE(poll_until([&] { return log_has(log_path_of(id), "ready"); }, 20s));
  auto memory = stats_of(cri(), id).memory();
  ASSERT_TRUE(memory.has_available_bytes());
  EXPECT_GT(memory.usage_bytes().value(), memory.working_set_bytes().value())
      << "the file's page cache is in the usage";
  EXPECT_EQ(memory.available_bytes().value(),
            static_cast<uint64_t>(128 * kMiB) - memory.working_set_bytes().value());
}

// The writable layer's figures come from the collector's walk, in the background: what the
// container wrote shows within a period.
TEST_F(CriKubeletParity, WritableLayerFromTheCollector) {
  ASSERT_TRUE(start_daemon("stats_collect_period_ms = 500"));
  Pod pod = run_pod("layer");
  std::string id = run(pod, container_config("writer",
                                             "mkdir /many; for i in $(seq 100); do "
                                             "echo $i > /many/$i; done; head -c 2097152 "
                                             "/dev/zero > /big; echo done; " +
                                                 std::string(kIdle)));
  ASSERT_TRUE(poll_until([&] { return log_has(log_path_of(id), "done"); }, 20s));
  ASSERT_TRUE(poll_until(
      [&] {
        auto layer = stats_of(cri(), id).writable_layer();
        return layer.used_bytes().value() >= 2097152 && layer.inodes_used().value() >= 102;
      },
      10s))
      << stats_of(cri(), id).writable_layer().DebugString();
  EXPECT_EQ(stats_of(cri(), id).writable_layer().fs_id().mountpoint(),
            image_root() + "/containers");
}

// ---------------------------------------------------------------------------------------------
// The evented PLEG.

// PodSandboxStatus: a timestamp and the statuses of all the pod's containers, together (with
// the EventedPLEG gate, a timestamp makes the kubelet take the containers from this answer).
TEST_F(CriKubeletParity, PodSandboxStatusCarriesItsContainersWithTheTimestamp) {
  ASSERT_TRUE(start_daemon());
  Pod pod = run_pod("statuses");
  std::string running = run(pod, container_config("running", kIdle));
  std::string created = create(pod, container_config("created", kIdle));
  Pod other = run_pod("other");
  run(other, container_config("elsewhere", kIdle));
  auto response = cri().pod_status(pod.id);
  EXPECT_GT(response.timestamp(), 0);
  std::map<std::string, v1::ContainerState> states;
  for (const auto& status : response.containers_statuses()) states[status.id()] = status.state();
  EXPECT_EQ(states, (std::map<std::string, v1::ContainerState>{{running, v1::CONTAINER_RUNNING},
                                                               {created, v1::CONTAINER_CREATED}}));
}

// A client that does what the kubelet's evented PLEG does (pkg/kubelet/pleg/evented.go,
// processCRIEvents): each event's pod status and container statuses replace the pod's entry in
// its cache (when newer); a DELETED event whose container id is the pod's own removes it. Over 200
// pod lifecycles (a third left running, some left stopped) the cache agrees with a relist.
struct PodView {
  v1::PodSandboxState state = v1::SANDBOX_NOTREADY;
  std::map<std::string, v1::ContainerState> containers;
  bool operator==(const PodView&) const = default;
};

std::ostream& operator<<(std::ostream& out, const std::map<std::string, PodView>& pods) {
  for (const auto& [id, view] : pods) {
    out << id.substr(0, 8) << ":" << v1::PodSandboxState_Name(view.state) << "[";
    for (const auto& [cid, state] : view.containers)
      out << cid.substr(0, 8) << "=" << v1::ContainerState_Name(state) << " ";
    out << "] ";
  }
  return out;
}

// The kubelet's evented PLEG cache after `events`: each event's pod status and container
// statuses replace the pod's entry if newer than what it has; a pod's own DELETED removes it.
// Events without a pod status (the kubelet skips them) are counted in `skipped`.
std::map<std::string, PodView> evented_cache(const std::vector<v1::ContainerEventResponse>& events,
                                             size_t& skipped) {
  std::map<std::string, PodView> cache;
  std::map<std::string, int64_t> latest;
  skipped = 0;
  for (const auto& event : events) {
    if (!event.has_pod_sandbox_status() || !event.pod_sandbox_status().has_metadata()) {
      ++skipped;
      continue;
    }
    const std::string& pod_id = event.pod_sandbox_status().id();
    if (event.created_at() < latest[pod_id]) continue;
    latest[pod_id] = event.created_at();
    if (event.container_event_type() == v1::CONTAINER_DELETED_EVENT &&
        event.container_id() == pod_id) {
      cache.erase(pod_id);
      continue;
    }
    PodView view;
    view.state = event.pod_sandbox_status().state();
    for (const auto& status : event.containers_statuses()) {
      view.containers[status.id()] = status.state();
    }
    cache[pod_id] = view;
  }
  return cache;
}

TEST_F(CriKubeletParity, EventedPlegCacheAgreesWithARelist) {
  ASSERT_TRUE(start_daemon());
  EventCollector events(cri().runtime());
  // The stream has no acknowledgement: pods run until one's event arrives tell it is subscribed.
  bool subscribed = false;
  for (int attempt = 0; attempt < 5 && !subscribed; ++attempt) {
    Pod probe = run_pod("probe-" + std::to_string(attempt));
    subscribed = events.wait_for(probe.id, 1, 2s);
    cri().stop_pod(probe.id);
    cri().remove_pod(probe.id);
  }
  ASSERT_TRUE(subscribed) << "no event of the probe pods arrived";
  auto relist = [&] {
    std::map<std::string, PodView> pods;
    for (const auto& pod : cri().list_pods()) pods[pod.id()].state = pod.state();
    for (const auto& container : cri().list_containers()) {
      pods[container.pod_sandbox_id()].containers[container.id()] = container.state();
    }
    return pods;
  };
  constexpr int kLifecycles = 200;
  std::vector<std::string> pod_ids;
  for (int i = 0; i < kLifecycles; ++i) {
    Pod pod = run_pod("pleg-" + std::to_string(i));
    pod_ids.push_back(pod.id);
    std::string id = run(pod, container_config("c", i % 2 == 0 ? kIdle : "true"));
    if (i % 3 == 0) continue;  // left running
    if (i % 3 == 1) cri().stop_container(id, 0);
    cri().stop_pod(pod.id);
    if (i % 5 != 1) cri().remove_pod(pod.id);  // some stay, stopped
  }
  size_t skipped = 0;
  bool agreed = poll_until([&] { return evented_cache(events.all(), skipped) == relist(); }, 20s);
  EXPECT_TRUE(agreed) << "cache: " << evented_cache(events.all(), skipped)
                      << "\nrelist: " << relist();
  EXPECT_EQ(skipped, 0u);
  // Each pod's own events, as containerd sends them (its id as the container id).
  std::map<v1::ContainerEventType, int> pod_events;
  std::set<std::string> ours(pod_ids.begin(), pod_ids.end());
  for (const auto& event : events.all()) {
    if (ours.count(event.container_id()) != 0) ++pod_events[event.container_event_type()];
  }
  EXPECT_EQ(pod_events[v1::CONTAINER_CREATED_EVENT], kLifecycles);
  EXPECT_EQ(pod_events[v1::CONTAINER_STARTED_EVENT], kLifecycles);
  EXPECT_EQ(pod_events[v1::CONTAINER_STOPPED_EVENT], kLifecycles - (kLifecycles + 2) / 3);
  EXPECT_GT(pod_events[v1::CONTAINER_DELETED_EVENT], 0);
}

// ---------------------------------------------------------------------------------------------
// Exits never wait for each other: a container whose delete hangs in the runtime (a fault: the
// runtime's `delete` of it sleeps) does not hold back another container's exit event.

TEST_F(CriKubeletParity, AHungDeleteDelaysNoOtherExit) {
  std::string slow_dir = dir_ + "/slow";
  isolate::make_dirs(slow_dir, 0755);
  std::string wrapper = dir_ + "/slow-runtime";
  isolate::write_file_atomic(wrapper,
                             "#!/bin/sh\n"
                             "slow=\n"
                             "case \" $* \" in *\" delete \"*) for a in \"$@\"; do\n"
                             "  [ -e \"" +
                                 slow_dir +
                                 "/$a\" ] && slow=1; done;; esac\n"
                                 "[ -n \"$slow\" ] && exec sleep 30\n"
                                 "exec " +
                                 hanok_binary() + " \"$@\"\n",
                             0755);
  ASSERT_TRUE(start_daemon("runtime_path = \"" + wrapper + "\""));
  EventCollector events(cri().runtime());
  Pod pod = run_pod("hung-delete");
  // Both end at about the same time: the quick one's exit must not queue behind the hung one's.
  std::string hung = create(pod, container_config("hung", "sleep 1; exit 3"));
  std::string quick = create(pod, container_config("quick", "sleep 1; exit 4"));
  isolate::write_file_atomic(slow_dir + "/" + hung, "", 0644);
  cri().start_container(hung);
  cri().start_container(quick);
  ASSERT_TRUE(events.wait_for(quick, 3, 30s)) << event_names(events.types_for(quick));
  ASSERT_TRUE(cri().wait_for_state(quick, v1::CONTAINER_EXITED, 5s));
  auto status = cri().container_status(quick).status();
  EXPECT_EQ(status.exit_code(), 4);
  v1::ContainerEventResponse stopped;
  for (const auto& event : events.all()) {
    if (event.container_id() == quick &&
        event.container_event_type() == v1::CONTAINER_STOPPED_EVENT)
      stopped = event;
  }
  ASSERT_GT(stopped.created_at(), 0);
  EXPECT_LT(stopped.created_at() - status.finished_at(), 1'000'000'000)
      << "the exit event came " << (stopped.created_at() - status.finished_at()) / 1000000
      << " ms after the exit";
  // The hung one's exit is recorded as well, its delete still hanging.
  EXPECT_TRUE(cri().wait_for_state(hung, v1::CONTAINER_EXITED, 5s));
  EXPECT_EQ(cri().container_status(hung).status().exit_code(), 3);
  ::unlink((slow_dir + "/" + hung).c_str());
}

// ---------------------------------------------------------------------------------------------
// UpdatePodSandboxResources in a pod cgroup the kubelet owns (a cgroup parent it gave): recorded
// (the verbose status shows them), nothing written there; the kubelet sized it already.

TEST_F(CriKubeletParity, PodResourcesInTheKubeletsCgroupAreOnlyRecorded) {
  ASSERT_TRUE(start_daemon());
  v1::PodSandboxConfig config = pod_config("kubelet-owned");
  std::string leaf = "kubelet-owned-" + std::to_string(::getpid());
  config.mutable_linux()->set_cgroup_parent("/hanok/" + leaf);
  Pod pod = run_pod(config);
  std::string memory =
      cgroup_v2_host() ? "/sys/fs/cgroup/hanok/" + leaf : "/sys/fs/cgroup/memory/hanok/" + leaf;
  std::string limit_file = memory + (cgroup_v2_host() ? "/memory.max" : "/memory.limit_in_bytes");
  std::string before = isolate::read_file(limit_file);

  v1::UpdatePodSandboxResourcesRequest request;
  request.set_pod_sandbox_id(pod.id);
  request.mutable_resources()->set_memory_limit_in_bytes(64 * kMiB);
  request.mutable_overhead()->set_memory_limit_in_bytes(16 * kMiB);
  v1::UpdatePodSandboxResourcesResponse response;
  auto context = cri().context();
  auto status = cri().runtime().UpdatePodSandboxResources(context.get(), request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(isolate::read_file(limit_file), before) << "hanok wrote into the kubelet's cgroup";
  auto info = nlohmann::json::parse(cri().pod_status(pod.id, true).info().at("info"));
  EXPECT_EQ(info["resources"].value("memoryLimitInBytes", ""), std::to_string(64 * kMiB));
  EXPECT_EQ(info["overhead"].value("memoryLimitInBytes", ""), std::to_string(16 * kMiB));
  cri().stop_pod(pod.id);
  cri().remove_pod(pod.id);
}

// ---------------------------------------------------------------------------------------------
// A request up to 16 MiB is taken (containerd's limit; gRPC's default is 4 MiB): a pod with
// 6 MiB of annotations runs; one past 16 MiB is refused as too large.

TEST_F(CriKubeletParity, RequestsUpTo16MiB) {
  ASSERT_TRUE(start_daemon());
  v1::PodSandboxConfig big = pod_config("big");
  (*big.mutable_annotations())["example.com/blob"] = std::string(6 << 20, 'a');
  Pod pod = run_pod(big);
  EXPECT_EQ(cri().pod_status(pod.id).status().annotations().at("example.com/blob").size(),
            6u << 20);
  v1::PodSandboxConfig huge = pod_config("huge");
  (*huge.mutable_annotations())["example.com/blob"] = std::string(17 << 20, 'a');
  CallOutcome refused = outcome_of([&] { run_pod(huge); });
  EXPECT_EQ(code_name(refused.code), "RESOURCE_EXHAUSTED") << refused;
}

}  // namespace
}  // namespace hanok::test
