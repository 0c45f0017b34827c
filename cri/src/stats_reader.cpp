#include "stats_reader.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <filesystem>

#include "isolate/cgroup.hpp"

namespace hanok::cri {

namespace {
uint64_t stat_value(const isolate::cgroup::Stats& stats, const char* v2, const char* v1) {
  auto it = stats.memory.raw.find(v2);
  if (it != stats.memory.raw.end()) return it->second;
  it = stats.memory.raw.find(v1);
  return it != stats.memory.raw.end() ? it->second : 0;
}

// Bytes and inodes of a directory tree, not crossing into other file systems.
void tree_usage(const std::string& dir, uint64_t& bytes, uint64_t& inodes) {
  struct stat top {};
  if (::lstat(dir.c_str(), &top) != 0) return;
  std::error_code error;
  auto options = std::filesystem::directory_options::skip_permission_denied;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, options, error);
       !error && it != std::filesystem::recursive_directory_iterator(); it.increment(error)) {
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) != 0) continue;
    if (st.st_dev != top.st_dev) {
      if (S_ISDIR(st.st_mode)) it.disable_recursion_pending();
      continue;
    }
    ++inodes;
    bytes += static_cast<uint64_t>(st.st_blocks) * 512;
  }
}
}  // namespace

runtime::v1::ContainerStats container_stats(RuntimeCore& core,
                                            const store::ContainerRecord& container) {
  runtime::v1::ContainerStats out;
  auto* attributes = out.mutable_attributes();
  attributes->set_id(container.id());
  *attributes->mutable_metadata() = container.config().metadata();
  *attributes->mutable_labels() = container.config().labels();
  *attributes->mutable_annotations() = container.config().annotations();
  int64_t now = now_ns();
  auto* cpu = out.mutable_cpu();
  auto* memory = out.mutable_memory();
  cpu->set_timestamp(now);
  memory->set_timestamp(now);
  if (container.state() == runtime::v1::CONTAINER_RUNNING && !container.cgroup_path().empty()) {
    try {
      auto cgroup = isolate::cgroup::open_cgroup(container.cgroup_path());
      if (cgroup->exists()) {
        isolate::cgroup::Stats stats = cgroup->stats();
        cpu->mutable_usage_core_nano_seconds()->set_value(stats.cpu.usage_total_ns);
        uint64_t usage = stats.memory.usage;
        uint64_t inactive = stat_value(stats, "inactive_file", "total_inactive_file");
        memory->mutable_working_set_bytes()->set_value(usage > inactive ? usage - inactive : 0);
        memory->mutable_usage_bytes()->set_value(usage);
        memory->mutable_rss_bytes()->set_value(stat_value(stats, "anon", "total_rss"));
        memory->mutable_page_faults()->set_value(stat_value(stats, "pgfault", "total_pgfault"));
        memory->mutable_major_page_faults()->set_value(
            stat_value(stats, "pgmajfault", "total_pgmajfault"));
        if (stats.memory.limit > 0 && stats.memory.limit > usage) {
          memory->mutable_available_bytes()->set_value(stats.memory.limit - usage);
        }
      }
    } catch (const std::exception& e) {
      spdlog::debug("container {}: stats: {}", container.id(), e.what());
    }
  }
  auto* layer = out.mutable_writable_layer();
  layer->set_timestamp(now);
  std::string upper = core.images().snapshots().root() + "/containers/" + container.id() + "/upper";
  uint64_t bytes = 0;
  uint64_t inodes = 0;
  tree_usage(upper, bytes, inodes);
  layer->mutable_fs_id()->set_mountpoint(core.images().snapshots().root());
  layer->mutable_used_bytes()->set_value(bytes);
  layer->mutable_inodes_used()->set_value(inodes);
  return out;
}

}  // namespace hanok::cri
