#include <spdlog/spdlog.h>

#include "call_context.hpp"
#include "cri/runtime_service.hpp"
#include "criu_support.hpp"
#include "isolate/clock.hpp"
#include "isolate/error.hpp"
#include "isolate/files.hpp"
#include "monitor_start.hpp"
#include "runtime_core.hpp"

namespace hanok::cri {

using isolate::Error;
using isolate::ErrorKind;

grpc::Status RuntimeService::StartContainer(grpc::ServerContext* context,
                                            const runtime::v1::StartContainerRequest* request,
                                            runtime::v1::StartContainerResponse*) {
  return logged_call("StartContainer", request->container_id(), [&] {
    std::string id = core_.resolve_container(request->container_id());
    IdLock lock = core_.locks().lock(id);
    auto container = core_.find_container(id);
    if (!container) throw Error(ErrorKind::NotFound, "container " + id + " not found");
    if (container->state() != runtime::v1::CONTAINER_CREATED) {
      throw Error(ErrorKind::WrongState, "container " + id + " is " +
                                             runtime::v1::ContainerState_Name(container->state()) +
                                             ", not created");
    }
    // The time start was asked for: a short program may have exited (its finish time taken by
    // the monitor) before `hanok start` returns.
    int64_t started_at = isolate::unix_now_ns();
    try {
      if (container->restore_from().empty()) {
        core_.runtime().start(id);
      } else {
        // Made by RestorePod: its process comes back from the checkpoint now, under a monitor
        // of its own (`hanok restore`).
        require_criu("restore container " + id);
        StartedMonitor started =
            start_monitor(core_, *container, stop_token_for(context, core_.stopping()));
        container->set_pid(started.init);
        container->set_monitor_pid(started.monitor);
        // Its process is back: the checkpoint (memory pages and all) is needed no more.
        std::string restored_from = container->restore_from();
        container->clear_restore_from();
        core_.save(*container);
        core_.watch_monitor(*container);
        try {
          isolate::remove_tree(restored_from);
        } catch (const std::exception& e) {
          spdlog::warn("container {}: remove its checkpoint: {}", id, e.what());
        }
      }
    } catch (const std::exception& e) {
      // As containerd: a container that failed to start is an exited one, its reason
      // StartError and the runtime's message.
      try {
        core_.runtime().remove(id, true);
      } catch (const std::exception& cleanup) {
        spdlog::warn("container {}: delete after a failed start: {}", id, cleanup.what());
      }
      container->set_state(runtime::v1::CONTAINER_EXITED);
      container->set_exit_code(128);
      container->set_reason("StartError");
      container->set_message(e.what());
      container->set_finished_at(isolate::unix_now_ns());
      core_.save(*container);
      throw;
    }
    container->set_state(runtime::v1::CONTAINER_RUNNING);
    container->set_started_at(started_at);
    core_.save(*container);
    spdlog::info("container {} started", id);
    core_.publish(runtime::v1::CONTAINER_STARTED_EVENT, *container);
    return grpc::Status::OK;
  });
}

}  // namespace hanok::cri
