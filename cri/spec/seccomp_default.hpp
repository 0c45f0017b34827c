// Private to cri/: the seccomp profile a container gets when its pod asks for "RuntimeDefault"
// (or sets no profile and the daemon defaults to it). It is the OCI runtime-spec `linux.seccomp`
// object that containerd 1.6 builds for an x86-64 host (contrib/seccomp DefaultProfile, itself
// derived from moby's default profile), so workloads see the same allowed syscalls under hanok
// as under containerd.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace hanok::cri {

// The `linux.seccomp` object for a container whose bounding capability set is `capabilities`
// (names such as "CAP_SYS_ADMIN"). Unlisted syscalls fail with EPERM; capabilities widen the
// allow list (CAP_SYS_ADMIN adds mount, unshare, setns, unrestricted clone and clone3, ...);
// without CAP_SYS_ADMIN, clone may not create namespaces and clone3 fails with ENOSYS so that
// libcs fall back to clone. ptrace is allowed when the host kernel is 4.8 or newer.
nlohmann::json default_seccomp_profile(const std::vector<std::string>& capabilities);

}  // namespace hanok::cri
