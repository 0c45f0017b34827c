// hanok: an OCI runtime CLI with runc's commands and flags.
#include <fcntl.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>

#include "commands.hpp"
#include "isolate/log.hpp"
#include "isolate/sealed_exe.hpp"
#include "oci/runtime.hpp"

extern char** environ;

namespace {
using namespace hanok::cli;

// Fills gaps among the preserved fds 3..3+n-1 with /dev/null before the runtime opens anything
// (its log first), so that nothing of the runtime's can land on one of them and leak into the
// container.
void reserve_preserved_fds(int count) {
  for (int fd = 3; fd < 3 + count; ++fd) {
    if (::fcntl(fd, F_GETFD) >= 0) continue;
    int null_fd = ::open("/dev/null", O_RDWR);
    if (null_fd >= 0 && null_fd != fd) {
      ::dup2(null_fd, fd);
      ::close(null_fd);
    }
  }
}

int open_log(const GlobalOptions& global) {
  if (global.log_file.empty()) return -1;
  int fd = ::open(global.log_file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) std::perror(("hanok: open log " + global.log_file).c_str());
  return fd;
}
}  // namespace

namespace {
int hanok_main(int argc, char** argv) {
  CLI::App app{"hanok: an OCI container runtime", "hanok"};
  app.set_version_flag("-v,--version",
                       std::string("hanok version ") + HANOK_VERSION + "\nspec: 1.2.0");
  app.require_subcommand(1);
  GlobalOptions global;
  app.add_option("--root", global.root, "state directory")->capture_default_str();
  app.add_option("--log", global.log_file, "log file (default: stderr)");
  app.add_option("--log-format", global.log_format, "text or json")
      ->check(CLI::IsMember({"text", "json"}));
  app.add_flag("--systemd-cgroup", global.systemd_cgroup, "use systemd cgroup paths");
  app.add_flag("--debug", global.debug, "debug logging");
  app.add_flag("--rootless", global.rootless_flag, "accepted for runc compatibility");
  app.add_option("--criu", global.criu_path, "accepted for runc compatibility");

  auto commands = register_commands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  std::shared_ptr<Command> command;
  for (const auto& candidate : commands) {
    if (candidate->app->parsed()) command = candidate;
  }
  if (!command) return 1;
  if (command->enters_container) reserve_preserved_fds(command->preserve_fds());

  int log = open_log(global);
  hanok::isolate::configure_log(
      log, global.log_format == "json",
      global.debug ? hanok::isolate::LogLevel::Debug : hanok::isolate::LogLevel::Warning);
  try {
    if (command->enters_container) {
      // A container must never reach the binary on the host through /proc/<pid>/exe.
      hanok::isolate::reexec_from_sealed_copy(argv, environ);
      ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
    hanok::oci::Runtime runtime(global.root, global.systemd_cgroup);
    return command->run(runtime);
  } catch (const std::exception& e) {
    std::string message = command->error_prefix + e.what();
    if (log >= 0) hanok::isolate::log_error(message);
    std::fprintf(stderr, "hanok: %s\n", message.c_str());
    return command->error_status;
  }
}
}  // namespace

int main(int argc, char** argv) {
  try {
    return hanok_main(argc, argv);
  } catch (const std::exception& e) {  // before a command ran: the flags, memory
    std::fprintf(stderr, "hanok: %s\n", e.what());
    return 1;
  }
}
