#include "stats_collector.hpp"

#include <spdlog/spdlog.h>

#include <set>

#include "isolate/cgroup.hpp"
#include "isolate/clock.hpp"
#include "isolate/tree_walk.hpp"

namespace hanok::cri {

StatsCollector::StatsCollector(std::string layers_root, TargetSource targets,
                               std::chrono::milliseconds period)
    : layers_root_(std::move(layers_root)), targets_(std::move(targets)), period_(period) {}

StatsCollector::~StatsCollector() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void StatsCollector::start() {
  thread_ = std::thread([this] { loop(); });
}

void StatsCollector::loop() {
  for (;;) {
    try {
      collect();
    } catch (const std::exception& e) {
      spdlog::warn("stats collector: {}", e.what());
    }
    std::unique_lock lock(mutex_);
    if (wake_.wait_for(lock, period_, [this] { return stopping_; })) return;
  }
}

void StatsCollector::collect() {
  std::lock_guard pass(pass_mutex_);
  Targets targets = targets_();
  // Cpu first (cheap, and its samples' spacing is what the rate is over), then the walks.
  std::map<std::string, std::pair<int64_t, uint64_t>> cpu_now;
  for (const auto& path : targets.cgroups) {
    if (path.empty()) continue;
    try {
      auto cgroup = isolate::cgroup::open_cgroup(path);
      if (!cgroup->exists()) continue;
      uint64_t usage = cgroup->stats().cpu.usage_total_ns;
      // The monotonic clock: a step of the wall clock never skews a rate.
      int64_t at = std::chrono::duration_cast<std::chrono::nanoseconds>(
                       std::chrono::steady_clock::now().time_since_epoch())
                       .count();
      cpu_now[path] = {at, usage};
    } catch (const std::exception& e) {
      spdlog::debug("stats collector: cgroup {}: {}", path, e.what());
    }
  }
  {
    std::lock_guard lock(mutex_);
    std::map<std::string, CpuSamples> next;
    for (const auto& [path, sample] : cpu_now) {
      CpuSamples samples;
      if (auto it = cpu_.find(path); it != cpu_.end()) {
        samples.previous_at_ns = it->second.last_at_ns;
        samples.previous_usage_ns = it->second.last_usage_ns;
      }
      samples.last_at_ns = sample.first;
      samples.last_usage_ns = sample.second;
      next[path] = samples;
    }
    cpu_ = std::move(next);  // cgroups gone are forgotten
  }
  std::set<std::string> live;
  for (const auto& [id, upper] : targets.layers) {
    live.insert(id);
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;  // a daemon that stops waits for no walk past this one
    }
    // Measured by fds, each inode once, never following what the container swaps in.
    isolate::TreeUsage usage = isolate::tree_usage(upper);
    std::lock_guard lock(mutex_);
    layers_[id] = {isolate::unix_now_ns(), usage.bytes, usage.inodes};
  }
  std::lock_guard lock(mutex_);
  std::erase_if(layers_, [&](const auto& entry) { return live.count(entry.first) == 0; });
}

std::optional<StatsCollector::LayerUsage> StatsCollector::writable_layer(
    const std::string& id) const {
  std::lock_guard lock(mutex_);
  auto it = layers_.find(id);
  if (it == layers_.end()) return std::nullopt;
  return it->second;
}

StatsCollector::LayerUsage StatsCollector::all_layers() const {
  std::lock_guard lock(mutex_);
  LayerUsage all;
  for (const auto& [id, usage] : layers_) {
    all.at_ns = std::max(all.at_ns, usage.at_ns);
    all.bytes += usage.bytes;
    all.inodes += usage.inodes;
  }
  return all;
}

std::optional<uint64_t> StatsCollector::nano_cores(const std::string& cgroup_path) const {
  std::lock_guard lock(mutex_);
  auto it = cpu_.find(cgroup_path);
  if (it == cpu_.end()) return std::nullopt;
  const CpuSamples& s = it->second;
  if (s.previous_at_ns <= 0 || s.last_at_ns <= s.previous_at_ns ||
      s.last_usage_ns < s.previous_usage_ns) {
    return std::nullopt;
  }
  return static_cast<uint64_t>(static_cast<double>(s.last_usage_ns - s.previous_usage_ns) * 1e9 /
                               static_cast<double>(s.last_at_ns - s.previous_at_ns));
}

}  // namespace hanok::cri
