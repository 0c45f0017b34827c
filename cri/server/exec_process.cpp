#include "exec_process.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "isolate/cgroup.hpp"
#include "isolate/error.hpp"
#include "isolate/files.hpp"
#include "isolate/process.hpp"
#include "isolate/text.hpp"
#include "runtime_core.hpp"

namespace hanok::cri {

ExecFiles::ExecFiles(const std::string& bundle) : tag(new_id().substr(0, 16)) {
  process = bundle + "/exec-" + tag + ".json";
  pid = bundle + "/exec-" + tag + ".pid";
  log = bundle + "/exec-" + tag + ".log";
}

ExecFiles::~ExecFiles() {
  for (const auto* path : {&process, &pid, &log}) ::unlink(path->c_str());
}

std::vector<std::string> prepare_exec(RuntimeCore& core, const store::ContainerRecord& container,
                                      const std::vector<std::string>& cmd, bool tty,
                                      const ExecFiles& files, const std::string& console_socket) {
  auto spec = nlohmann::json::parse(isolate::read_file(container.bundle() + "/config.json"));
  nlohmann::json process = spec.at("process");
  process["args"] = cmd;
  process["terminal"] = tty;
  process.erase("consoleSize");
  isolate::write_file_atomic(files.process, process.dump(), 0600);
  std::vector<std::string> argv = {core.runtime().binary(),
                                   "--root",
                                   core.runtime().root(),
                                   "--log",
                                   files.log,
                                   "--log-format",
                                   "json",
                                   "exec",
                                   "--process",
                                   files.process,
                                   "--pid-file",
                                   files.pid};
  if (!console_socket.empty()) {
    argv.push_back("--console-socket");
    argv.push_back(console_socket);
  }
  argv.push_back(container.id());
  return argv;
}

bool kill_exec(const std::string& pid_file, const std::string& cgroup_path) {
  auto text = isolate::read_file_if_exists(pid_file);
  auto pid = text ? isolate::parse_i64(*text) : std::nullopt;
  if (!pid || *pid <= 0) return false;
  isolate::UniqueFd process;
  try {
    process = isolate::open_pidfd(static_cast<pid_t>(*pid));
  } catch (const isolate::SysError&) {
    return true;  // gone already
  }
  if (isolate::cgroup::process_in_cgroup(static_cast<pid_t>(*pid), cgroup_path)) {
    isolate::send_signal(process.get(), SIGKILL);
  }
  return true;
}

int exec_exit_code(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return 255;
}

std::string command_text(const std::vector<std::string>& cmd) {
  std::string text = "[";
  for (const auto& arg : cmd) text += (text.size() > 1 ? " " : "") + arg;
  return text + "]";
}

}  // namespace hanok::cri
