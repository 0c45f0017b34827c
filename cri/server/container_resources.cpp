#include "container_resources.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include "isolate/files.hpp"
#include "isolate/pinned_namespace.hpp"

namespace hanok::cri {

std::string container_lease(const std::string& id) {
  return "container/" + id;
}

void release_container_resources(RuntimeCore& core, const std::string& id) {
  auto attempt = [&](const char* what, auto&& step) {
    try {
      step();
    } catch (const std::exception& e) {
      spdlog::warn("container {}: {}: {}", id, what, e.what());
    }
  };
  if (isolate::path_exists(core.runtime().root() + "/" + id)) {
    attempt("delete from the runtime", [&] { core.runtime().remove(id, true); });
  }
  attempt("remove its rootfs", [&] { core.images().snapshots().remove_container_rootfs(id); });
  attempt("release its image lease", [&] { core.images().release(container_lease(id)); });
  std::string target_pin = core.bundle_dir(id) + "/" + kTargetPidNamespace;
  if (isolate::path_exists(target_pin)) {
    attempt("unpin its target's PID namespace", [&] { isolate::unpin_namespace(target_pin); });
  }
  attempt("remove its bundle", [&] { isolate::remove_tree(core.bundle_dir(id)); });
  if (isolate::path_exists(core.restore_dir(id))) {
    attempt("remove its checkpoint", [&] { isolate::remove_tree(core.restore_dir(id)); });
  }
  ::unlink(core.exit_file(id).c_str());
}

}  // namespace hanok::cri
