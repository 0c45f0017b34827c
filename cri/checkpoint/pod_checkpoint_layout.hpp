// Private to cri/: the names in a CheckpointPod directory (see pod_checkpoint.cpp).
#pragma once

namespace hanok::cri {

inline constexpr const char* kPodCheckpointFile = "pod.json";
inline constexpr const char* kPodConfigKey = "podSandboxConfig";
inline constexpr const char* kPodContainersKey = "containers";

}  // namespace hanok::cri
