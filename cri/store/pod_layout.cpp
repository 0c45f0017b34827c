#include "pod_layout.hpp"

#include <unistd.h>

namespace hanok::cri {

std::string pinned_namespace(const store::PodRecord& pod, const std::string& name) {
  return pod.dir() + "/ns/" + name;
}

std::string node_hostname() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "localhost";
  return name;
}

}  // namespace hanok::cri
