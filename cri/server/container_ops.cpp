#include "container_ops.hpp"

#include <signal.h>
#include <spdlog/spdlog.h>

#include "container_resources.hpp"

namespace hanok::cri {

namespace {
void signal_container(RuntimeCore& core, const std::string& id, int signal, bool all) {
  IdLock lock = core.locks().lock(id);
  auto container = core.find_container(id);
  if (!container || container->state() != runtime::v1::CONTAINER_RUNNING) return;
  try {
    core.runtime().kill(id, signal, all);
  } catch (const std::exception& e) {
    // It may have exited since: its exit file says so, and the wait below sees it.
    spdlog::debug("container {}: signal {}: {}", id, signal, e.what());
  }
}
}  // namespace

void stop_container(RuntimeCore& core, const std::string& id, int64_t timeout_s,
                    const images::StopToken& stop) {
  auto container = core.find_container(id);
  if (!container || container->state() != runtime::v1::CONTAINER_RUNNING) return;
  // The id's lock is never held while waiting: the exit itself is recorded under it.
  if (timeout_s > 0) {
    int signal = container->stop_signal() > 0 ? container->stop_signal() : SIGTERM;
    signal_container(core, id, signal, false);
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
    if (core.wait_exited(id, until, stop)) return;
    stop.check("stop container " + id);
  }
  signal_container(core, id, SIGKILL, true);
  if (!core.wait_exited(id, std::chrono::steady_clock::time_point::max(), stop)) {
    stop.check("stop container " + id);
  }
}

void remove_container(RuntimeCore& core, const std::string& id, const images::StopToken& stop) {
  for (;;) {
    stop_container(core, id, 0, stop);
    IdLock lock = core.locks().lock(id);
    auto container = core.find_container(id);
    if (!container) return;
    // Started since it was stopped (a StartContainer in between): stopped again, its exit
    // recorded as any other's (never waited for under the lock, which the exit needs).
    if (container->state() == runtime::v1::CONTAINER_RUNNING) continue;
    release_container_resources(core, id);
    core.forget_container(id);
    if (auto pod = core.find_pod(container->pod_id())) {
      core.container_names().release(
          container_name_key(container->config().metadata(), pod->config().metadata()), id);
    }
    spdlog::info("container {} removed", id);
    core.publish(runtime::v1::CONTAINER_DELETED_EVENT, *container);
    core.locks().forget(id);
    return;
  }
}

}  // namespace hanok::cri
