#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "call_context.hpp"
#include "cri/runtime_service.hpp"
#include "exec_process.hpp"
#include "isolate/error.hpp"
#include "isolate/files.hpp"
#include "isolate/log.hpp"
#include "isolate/process.hpp"
#include "isolate/text.hpp"
#include "runtime_core.hpp"

namespace hanok::cri {

using isolate::Error;
using isolate::ErrorKind;

grpc::Status RuntimeService::ExecSync(grpc::ServerContext* context,
                                      const runtime::v1::ExecSyncRequest* request,
                                      runtime::v1::ExecSyncResponse* response) {
  return logged_call("ExecSync", request->container_id(), [&] {
    if (request->cmd_size() == 0) throw Error(ErrorKind::Invalid, "cmd: must not be empty");
    if (request->timeout() < 0) throw Error(ErrorKind::Invalid, "timeout: must not be negative");
    std::string id = core_.resolve_container(request->container_id());
    auto container = core_.find_container(id);
    if (!container) throw Error(ErrorKind::NotFound, "container " + id + " not found");
    if (container->state() != runtime::v1::CONTAINER_RUNNING) {
      throw Error(ErrorKind::NotRunning, "container " + id + " is not running");
    }
    ExecFiles files(container->bundle());
    std::vector<std::string> cmd(request->cmd().begin(), request->cmd().end());
    std::vector<std::string> argv = prepare_exec(core_, *container, cmd, false, files);
    CaptureRequest capture;
    capture.argv = argv;
    capture.timeout = std::chrono::seconds(request->timeout());
    capture.limit = static_cast<size_t>(core_.config().exec_output_limit);
    BudgetShare share(core_.exec_output_budget());
    capture.budget = &share;
    CapturedRun run = run_captured(capture, stop_token_for(context, core_.stopping()),
                                   [&] { kill_exec(files.pid, container->cgroup_path()); });
    if (run.exhausted) {
      return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                          "exec in container " + id +
                              ": its output would pass what all ExecSync calls may hold at once "
                              "(exec_sync_buffer_limit, " +
                              std::to_string(share.budget().limit()) +
                              " bytes); the command was killed");
    }
    if (run.timed_out) {
      return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                          "timeout " + std::to_string(request->timeout()) + "s exceeded");
    }
    if (run.stopped) {
      stop_token_for(context, core_.stopping()).check("exec in container " + id);
      return grpc::Status(grpc::StatusCode::CANCELLED, "exec in container " + id + ": cancelled");
    }
    std::string error =
        isolate::last_logged_error(isolate::read_file_if_exists(files.log).value_or(""));
    if (!error.empty()) {
      throw Error(ErrorKind::Internal, "exec in container " + id + ": " + error);
    }
    response->set_stdout(std::move(run.out));
    response->set_stderr(std::move(run.err));
    int code = exec_exit_code(run.wait_status);
    response->set_exit_code(code);
    return grpc::Status::OK;
  });
}

}  // namespace hanok::cri
