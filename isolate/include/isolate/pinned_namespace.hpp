// Namespaces kept alive without a process, as CRI-O's pinns does: /proc/self/ns/<name> bind-
// mounted onto a file, which others open and setns() into. Also what a fresh network namespace
// needs before it is useful (its loopback up).
#pragma once

#include <string>

namespace hanok::isolate {

// Creates `target` (an empty file, which must not exist) and bind-mounts the namespace file
// `ns_path` (e.g. "/proc/self/ns/net") onto it. Errors name the target; nothing is left behind.
void pin_namespace(const std::string& ns_path, const std::string& target);
// Unmounts (detached) and removes a pinned namespace file; a missing one is fine. The namespace
// ends when nothing else holds it.
void unpin_namespace(const std::string& target);
// Whether `path` is a pinned namespace (a bind mount of an nsfs file).
bool is_pinned_namespace(const std::string& path);

// Sets "lo" up in the calling thread's network namespace.
void bring_loopback_up();

}  // namespace hanok::isolate
