#include "list_filters.hpp"

#include "cri_convert.hpp"

namespace hanok::cri {

bool pod_matches(const store::PodRecord& pod, const runtime::v1::PodSandboxFilter& filter) {
  return id_matches(pod.id(), filter.id()) &&
         (!filter.has_state() || filter.state().state() == pod.state()) &&
         labels_match(pod.config().labels(), filter.label_selector());
}

bool container_matches(const store::ContainerRecord& container,
                       const runtime::v1::ContainerFilter& filter) {
  return id_matches(container.id(), filter.id()) &&
         id_matches(container.pod_id(), filter.pod_sandbox_id()) &&
         (!filter.has_state() || filter.state().state() == container.state()) &&
         labels_match(container.config().labels(), filter.label_selector());
}

bool container_stats_match(const store::ContainerRecord& container,
                           const runtime::v1::ContainerStatsFilter& filter) {
  return id_matches(container.id(), filter.id()) &&
         id_matches(container.pod_id(), filter.pod_sandbox_id()) &&
         labels_match(container.config().labels(), filter.label_selector());
}

}  // namespace hanok::cri
