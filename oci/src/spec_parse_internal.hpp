// Private to oci/src: the pieces of parse_spec shared between its source files.
#pragma once

#include <vector>

#include "isolate/ids.hpp"
#include "json_path.hpp"
#include "oci/spec.hpp"

namespace hanok::oci::detail {

// [{"containerID": 0, "hostID": 1000, "size": 1}, ...]
std::vector<isolate::IdMapping> parse_id_mappings(const Node& node);
// The "linux" object.
Linux parse_linux(const Node& node);
// The "linux.seccomp" object.
isolate::SeccompProfile parse_seccomp(const Node& node);

}  // namespace hanok::oci::detail
