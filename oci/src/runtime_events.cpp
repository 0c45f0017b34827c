// events: runc's JSON events and stats from the container's cgroup.
#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <thread>

#include "container_cgroup.hpp"
#include "oci/runtime.hpp"

namespace hanok::oci {

namespace {
nlohmann::json io_entries(const std::vector<isolate::cgroup::Stats::IoEntry>& entries) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& entry : entries) {
    list.push_back(
        {{"major", entry.major}, {"minor", entry.minor}, {"op", entry.op}, {"value", entry.value}});
  }
  return list;
}

// The "data" of runc's stats event (its types.Stats field names).
nlohmann::json stats_to_json(const isolate::cgroup::Stats& stats) {
  nlohmann::json hugetlb = nlohmann::json::object();
  for (const auto& [size, entry] : stats.hugetlb) {
    hugetlb[size] = {{"usage", entry.usage}, {"max", entry.max_usage}, {"failcnt", entry.failcnt}};
  }
  return {{"cpu",
           {{"usage",
             {{"total", stats.cpu.usage_total_ns},
              {"percpu", stats.cpu.usage_per_cpu_ns},
              {"kernel", stats.cpu.usage_kernel_ns},
              {"user", stats.cpu.usage_user_ns}}},
            {"throttling",
             {{"periods", stats.cpu.throttling_periods},
              {"throttledPeriods", stats.cpu.throttled_periods},
              {"throttledTime", stats.cpu.throttled_time_ns}}}}},
          {"memory",
           {{"cache", stats.memory.cache},
            {"usage",
             {{"limit", stats.memory.limit},
              {"usage", stats.memory.usage},
              {"max", stats.memory.max_usage},
              {"failcnt", stats.memory.failcnt}}},
            {"swap", {{"limit", stats.memory.swap_limit}, {"usage", stats.memory.swap_usage}}},
            {"raw", stats.memory.raw}}},
          {"pids", {{"current", stats.pids.current}, {"limit", stats.pids.limit}}},
          {"blkio",
           {{"ioServiceBytesRecursive", io_entries(stats.io_service_bytes)},
            {"ioServicedRecursive", io_entries(stats.io_serviced)}}},
          {"hugetlb", hugetlb}};
}
}  // namespace

void Runtime::events(const std::string& id, int interval_ms, bool once,
                     const std::function<void(const nlohmann::json&)>& emit) const {
  ContainerState state = store_.load(id);
  auto cgroup = open_container_cgroup(state);
  if (!cgroup || !cgroup->exists()) {
    throw std::runtime_error("container \"" + id + "\" has no cgroup");
  }
  if (once) {
    emit({{"type", "stats"}, {"id", id}, {"data", stats_to_json(cgroup->stats())}});
    return;
  }
  // OOM kills are looked for every 100 ms; stats go out every interval.
  using clock = std::chrono::steady_clock;
  uint64_t oom_kills = cgroup->oom_kill_count();
  auto next_stats = clock::now();
  for (;;) {
    uint64_t now = cgroup->oom_kill_count();
    if (now > oom_kills) emit({{"type", "oom"}, {"id", id}});
    oom_kills = now;
    if (status(state) == Status::Stopped || !cgroup->exists()) return;
    if (clock::now() >= next_stats) {
      emit({{"type", "stats"}, {"id", id}, {"data", stats_to_json(cgroup->stats())}});
      next_stats = clock::now() + std::chrono::milliseconds(interval_ms);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(interval_ms, 100)));
  }
}

}  // namespace hanok::oci
