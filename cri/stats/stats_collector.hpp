// Private to cri/: the figures the kubelet polls every 10 s that cost too much to compute per
// call, kept by a background thread (as containerd's snapshot syncer keeps snapshot usage):
//   - each container's writable layer (bytes and inodes: a walk of its upper dir, which the
//     container controls and may fill with a million files), and their sum for ImageFsInfo;
//   - each cgroup's cpu usage sampled once per period, so that usage_nano_cores is the rate
//     between the collector's own last two samples: the same for every caller, never a rate
//     over the few milliseconds between two pollers, and unset until there are two samples.
// The calls then answer from memory, in O(containers).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace hanok::cri {

class StatsCollector {
 public:
  // What one pass looks at: containers (id and writable upper dir) and cgroups (their paths).
  struct Targets {
    std::vector<std::pair<std::string, std::string>> layers;  // container id, upper dir
    std::vector<std::string> cgroups;
  };
  using TargetSource = std::function<Targets()>;
  struct LayerUsage {
    int64_t at_ns = 0;  // when the walk ended
    uint64_t bytes = 0;
    uint64_t inodes = 0;
  };

  // `layers_root`: the filesystem the writable layers live on (their fs id's mountpoint).
  StatsCollector(std::string layers_root, TargetSource targets, std::chrono::milliseconds period);
  ~StatsCollector();  // stops the thread
  StatsCollector(const StatsCollector&) = delete;
  StatsCollector& operator=(const StatsCollector&) = delete;

  // Starts the thread; its first pass runs at once.
  void start();
  // One pass on the caller's thread (what the thread does each period).
  void collect();

  const std::string& layers_root() const { return layers_root_; }
  // The container's writable layer as last walked; nullopt before its first walk.
  std::optional<LayerUsage> writable_layer(const std::string& id) const;
  // All the writable layers together, as last walked.
  LayerUsage all_layers() const;
  // The cgroup's cpu rate in nanocores between the last two samples; nullopt before two.
  std::optional<uint64_t> nano_cores(const std::string& cgroup_path) const;

 private:
  struct CpuSamples {  // times on the monotonic clock
    int64_t previous_at_ns = 0;
    uint64_t previous_usage_ns = 0;
    int64_t last_at_ns = 0;
    uint64_t last_usage_ns = 0;
  };
  void loop();

  std::string layers_root_;
  TargetSource targets_;
  std::chrono::milliseconds period_;
  mutable std::mutex mutex_;  // the maps below, stopping_
  std::map<std::string, LayerUsage> layers_;
  std::map<std::string, CpuSamples> cpu_;
  std::mutex pass_mutex_;  // one pass at a time
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace hanok::cri
