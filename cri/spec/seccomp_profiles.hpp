// Private to cri/: a container's (or pod's) seccomp choice, as the kubelet expresses it either in
// the `seccomp` SecurityProfile or in the older `seccomp_profile_path` string ("", "unconfined",
// "runtime/default", "docker/default", "localhost/<absolute path>"), and the `linux.seccomp`
// object it becomes: none, the built-in RuntimeDefault, or a profile file from the host in the
// Docker/moby format (archMap, includes/excludes by capability and architecture) or the OCI one.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime_v1.pb.h"

namespace hanok::cri {

enum class SeccompKind { Unconfined, RuntimeDefault, Localhost };

struct SeccompChoice {
  SeccompKind kind = SeccompKind::Unconfined;
  std::string localhost_path;  // absolute, on the host
};

// The profile message wins when set; else the path string; neither set means unconfined (the
// kubelet sends RuntimeDefault explicitly when a pod asks for it). Throws isolate::Error Invalid
// naming `field` ("security_context.seccomp_profile_path") for an unknown string or a
// localhost profile that is not an absolute path.
SeccompChoice choose_seccomp(const runtime::v1::SecurityProfile* profile,
                             const std::string& profile_path, const std::string& field);

// The linux.seccomp object for the choice (nullopt for unconfined). `capabilities` is the
// container's bounding set (names "CAP_..."): the default profile and a moby profile's
// per-capability rules depend on it. Throws isolate::Error Invalid naming `field` when a
// localhost profile cannot be read or is not a profile.
std::optional<nlohmann::json> seccomp_for(const SeccompChoice& choice,
                                          const std::vector<std::string>& capabilities,
                                          const std::string& field);

// A Docker/moby (or OCI) seccomp profile turned into OCI linux.seccomp for this host.
nlohmann::json oci_seccomp_from_profile(const nlohmann::json& profile,
                                        const std::vector<std::string>& capabilities);

}  // namespace hanok::cri
