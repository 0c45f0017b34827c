#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "call_context.hpp"
#include "cri/runtime_service.hpp"
#include "isolate/error.hpp"
#include "isolate/files.hpp"
#include "isolate/log.hpp"
#include "isolate/process.hpp"
#include "isolate/text.hpp"
#include "runtime_core.hpp"

namespace hanok::cri {

using isolate::Error;
using isolate::ErrorKind;

namespace {
// Files of one exec in the bundle, removed when it ends.
struct ExecFiles {
  std::string process, pid, log;
  explicit ExecFiles(const std::string& bundle) {
    std::string tag = new_id().substr(0, 16);
    process = bundle + "/exec-" + tag + ".json";
    pid = bundle + "/exec-" + tag + ".pid";
    log = bundle + "/exec-" + tag + ".log";
  }
  ~ExecFiles() {
    for (const auto* path : {&process, &pid, &log}) ::unlink(path->c_str());
  }
  ExecFiles(const ExecFiles&) = delete;
  ExecFiles& operator=(const ExecFiles&) = delete;
};

// Ends the exec'd process (the runtime's child in the container), so that the runtime reaps it
// and returns: SIGKILL through a pidfd of the pid the runtime wrote, once the pidfd shows that
// pid is a process in the container's cgroup (not another one that got a recycled pid).
void kill_exec(const std::string& pid_file, const std::string& cgroup_path) {
  auto text = isolate::read_file_if_exists(pid_file);
  auto pid = text ? isolate::parse_i64(*text) : std::nullopt;
  if (!pid || *pid <= 0) return;
  isolate::UniqueFd process;
  try {
    process = isolate::open_pidfd(static_cast<pid_t>(*pid));
  } catch (const isolate::SysError&) {
    return;  // gone already
  }
  auto cgroups = isolate::read_file_if_exists("/proc/" + std::to_string(*pid) + "/cgroup");
  if (!cgroups || cgroup_path.empty()) return;
  bool in_container = false;
  for (std::string_view line : isolate::split(*cgroups, "\n")) {
    std::string_view path = line.substr(line.rfind(':') + 1);
    in_container = in_container || path == cgroup_path;
  }
  if (in_container) isolate::send_signal(process.get(), SIGKILL);
}
}  // namespace

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
    auto spec = nlohmann::json::parse(isolate::read_file(container->bundle() + "/config.json"));
    nlohmann::json process = spec.at("process");
    process["args"] = std::vector<std::string>(request->cmd().begin(), request->cmd().end());
    process["terminal"] = false;
    process.erase("consoleSize");

    ExecFiles files(container->bundle());
    isolate::write_file_atomic(files.process, process.dump(), 0600);
    std::vector<std::string> argv = {core_.runtime().binary(),
                                     "--root",
                                     core_.runtime().root(),
                                     "--log",
                                     files.log,
                                     "--log-format",
                                     "json",
                                     "exec",
                                     "--process",
                                     files.process,
                                     "--pid-file",
                                     files.pid,
                                     id};
    CaptureRequest capture;
    capture.argv = argv;
    capture.timeout = std::chrono::seconds(request->timeout());
    capture.limit = static_cast<size_t>(core_.config().exec_output_limit);
    CapturedRun run = run_captured(capture, stop_token_for(context, core_.stopping()),
                                   [&] { kill_exec(files.pid, container->cgroup_path()); });
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
    response->set_stdout(run.out);
    response->set_stderr(run.err);
    int code = 255;
    if (WIFEXITED(run.wait_status)) code = WEXITSTATUS(run.wait_status);
    if (WIFSIGNALED(run.wait_status)) code = 128 + WTERMSIG(run.wait_status);
    response->set_exit_code(code);
    return grpc::Status::OK;
  });
}

}  // namespace hanok::cri
