#include "runtime_cli.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <functional>

#include "isolate/error.hpp"
#include "isolate/files.hpp"
#include "isolate/process.hpp"
#include "isolate/text.hpp"

namespace hanok::cri {

namespace {

std::string own_dir() {
  std::error_code error;
  auto self = std::filesystem::read_symlink("/proc/self/exe", error);
  return error ? std::string() : self.parent_path().string();
}

std::string pick(const std::string& configured, const char* name) {
  if (!configured.empty()) return configured;
  return own_dir() + "/" + name;
}

// The runtime's last words: its output's last non-empty line, without a "level=error" prefix.
std::string runtime_message(const std::string& output) {
  std::string last;
  for (std::string_view line : isolate::split(output, "\n")) {
    std::string_view text = isolate::trim(line);
    if (!text.empty()) last = std::string(text);
  }
  return last.empty() ? "no message" : last;
}
}  // namespace

HelperBinaries locate_helpers(const std::string& runtime, const std::string& monitor) {
  return {pick(runtime, "hanok"), pick(monitor, "hanok-monitor")};
}

std::vector<std::string> RuntimeCli::base(bool systemd_cgroup) const {
  std::vector<std::string> argv = {binary_, "--root", root_};
  if (systemd_cgroup) argv.emplace_back("--systemd-cgroup");
  return argv;
}

void RuntimeCli::run(const std::vector<std::string>& args, bool systemd_cgroup,
                     std::chrono::seconds timeout, const images::StopToken& stop) const {
  CaptureRequest request;
  request.argv = base(systemd_cgroup);
  request.argv.insert(request.argv.end(), args.begin(), args.end());
  request.timeout = timeout;  // then killed, and the caller hears of it
  request.limit = 64 << 10;
  CapturedRun result = run_captured(request, stop);
  stop.check("hanok " + args.front());  // the caller's deadline, not the command's limit
  if (result.timed_out) {
    throw isolate::Error(isolate::ErrorKind::Internal, "hanok " + args.front() + ": no answer in " +
                                                           std::to_string(timeout.count()) +
                                                           " s; killed");
  }
  if (!WIFEXITED(result.wait_status) || WEXITSTATUS(result.wait_status) != 0) {
    throw isolate::Error(isolate::ErrorKind::Internal,
                         "hanok " + args.front() + ": " +
                             runtime_message(result.err + "\n" + result.out) + " (exit code " +
                             std::to_string(isolate::exit_code_of(result.wait_status)) + ")");
  }
}

void RuntimeCli::checkpoint(const std::string& id, const std::string& dir,
                            std::chrono::seconds timeout, const images::StopToken& stop) const {
  run({"checkpoint", "--image-path", dir + "/checkpoint", "--work-path", dir, "--leave-running",
       id},
      false, timeout, stop);
}

std::string RuntimeCli::status(const std::string& id) const {
  CaptureRequest request;
  request.argv = base(false);
  request.argv.insert(request.argv.end(), {"state", id});
  request.timeout = kRuntimeCommandTimeout;
  CapturedRun result = run_captured(request, images::StopToken());
  if (!WIFEXITED(result.wait_status) || WEXITSTATUS(result.wait_status) != 0) return "";
  auto state = nlohmann::json::parse(result.out, nullptr, false);
  return state.is_object() ? state.value("status", "") : "";
}

void RuntimeCli::kill(const std::string& id, int signal, bool all) const {
  std::vector<std::string> args = {"kill"};
  if (all) args.emplace_back("--all");
  args.insert(args.end(), {id, std::to_string(signal)});
  run(args);
}

void RuntimeCli::remove(const std::string& id, bool force, std::chrono::seconds timeout) const {
  std::vector<std::string> args = {"delete"};
  if (force) args.emplace_back("--force");
  args.push_back(id);
  run(args, false, timeout);
}

void RuntimeCli::update(const std::string& id, const nlohmann::json& resources, bool systemd_cgroup,
                        const std::string& scratch_dir) const {
  std::string file = scratch_dir + "/update-resources.json";
  isolate::write_file_atomic(file, resources.dump(), 0600);
  try {
    run({"update", "--resources", file, id}, systemd_cgroup);
  } catch (...) {
    ::unlink(file.c_str());
    throw;
  }
  ::unlink(file.c_str());
}

}  // namespace hanok::cri
