// Private: the cgroup v2 implementation of Cgroup, for a pure cgroup2 hierarchy at `root`.
// open_cgroup() (cgroup_common.cpp) calls make_cgroup_v2; tests may use it directly on a
// fake hierarchy of plain files in a temp dir.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "isolate/cgroup.hpp"
#include "isolate/unique_fd.hpp"

namespace hanok::isolate::cgroup {

// `path` below the hierarchy root ("/kubepods/pod1/c1"; a missing leading '/' is added);
// "." and ".." components are rejected with std::invalid_argument.
std::unique_ptr<Cgroup> make_cgroup_v2(const std::string& path, const std::string& root);

namespace v2 {

// The controllers create() enables in every parent's cgroup.subtree_control, when available.
inline constexpr const char* kControllers[] = {"cpu",  "cpuset",  "io",   "memory",
                                               "pids", "hugetlb", "misc", "rdma"};

class CgroupV2 final : public Cgroup {
 public:
  CgroupV2(std::string path, std::string root);

  const std::string& path() const override { return path_; }
  Mode mode() const override { return Mode::Unified; }
  bool create() override;
  void apply(const Resources& resources) override;  // cgroup_v2_apply.cpp
  int clone_into_fd() override;
  void add_process(pid_t pid) override;
  std::vector<pid_t> processes() const override;
  std::vector<HierarchyDir> hierarchy_dirs() const override;
  void freeze() override;
  void thaw() override;
  bool frozen() const override;
  void kill_all(int signal) override;
  Stats stats() const override;              // cgroup_v2_stats.cpp
  uint64_t oom_kill_count() const override;  // cgroup_v2_stats.cpp
  bool exists() const override;
  void destroy() override;

  // The cgroup's directory: root + path.
  const std::string& dir() const { return dir_; }

 private:
  void set_frozen(bool frozen);

  std::string path_;
  std::string root_;
  std::string dir_;
  UniqueFd clone_fd_;
};

// --- file helpers shared by the cgroup v2 sources ----------------------------------------

// isolate::write_knob of dir/name.
void write_file(const std::string& dir, const std::string& name, std::string_view value);
// isolate::read_file_if_exists of dir/name.
std::optional<std::string> read_optional(const std::string& dir, const std::string& name);
// "key value" lines (cpu.stat, memory.stat, memory.events, cgroup.events); values that are
// not unsigned numbers ("max") are skipped.
std::map<std::string, uint64_t> parse_flat_keyed(std::string_view text);
// A single-value file: the number, nullopt for "max", empty or unparsable content.
std::optional<uint64_t> parse_single(std::string_view text);

}  // namespace v2
}  // namespace hanok::isolate::cgroup
