// Private to cri/: records shown as the CRI's messages, and the list filters.
#pragma once

#include <google/protobuf/map.h>

#include <string>

#include "runtime_v1.pb.h"
#include "store.pb.h"

namespace hanok::cri {

runtime::v1::PodSandbox pod_sandbox_of(const store::PodRecord& pod);
runtime::v1::PodSandboxStatus pod_sandbox_status_of(const store::PodRecord& pod);
runtime::v1::Container container_of(const store::ContainerRecord& container);
runtime::v1::ContainerStatus container_status_of(const store::ContainerRecord& container);

// Every key=value of `selector` is in `labels`.
bool labels_match(const google::protobuf::Map<std::string, std::string>& labels,
                  const google::protobuf::Map<std::string, std::string>& selector);
// `id` is `wanted` or starts with it (crictl shows and takes truncated ids); empty matches all.
bool id_matches(const std::string& id, const std::string& wanted);

}  // namespace hanok::cri
