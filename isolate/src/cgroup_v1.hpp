// Private to isolate/: the cgroup v1 implementation of Cgroup.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "isolate/cgroup.hpp"

namespace hanok::isolate::cgroup {

// `path` is clean and absolute below each hierarchy's root. With root "/sys/fs/cgroup" the
// hierarchies are the v1 mounts listed in /proc/self/mountinfo; with any other root (a test's
// fake tree) each subdirectory of `root` named after controllers ("memory", "cpu,cpuacct") is
// one hierarchy. `mode` Hybrid also uses the cgroup2 at <root>/unified: the cgroup is created
// and joined there too, and it takes the hugetlb limits when v1 has no hugetlb hierarchy.
// `controller_paths` gives controllers ("" for the hybrid host's cgroup2) a path other than `path`.
std::unique_ptr<Cgroup> make_cgroup_v1(const std::string& path,
                                       const std::map<std::string, std::string>& controller_paths,
                                       const std::string& root, Mode mode);

}  // namespace hanok::isolate::cgroup
