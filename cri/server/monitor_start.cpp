#include "monitor_start.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include "helper_reports.hpp"
#include "isolate/error.hpp"
#include "isolate/process.hpp"
#include "isolate/spawn.hpp"
#include "isolate/text.hpp"
#include "monitor.hpp"

namespace hanok::cri {

namespace {
constexpr std::chrono::seconds kCreateTimeout{120};

pid_t pid_of(const HelperReport& report) {
  return static_cast<pid_t>(isolate::parse_i64(report.text).value_or(0));
}
}  // namespace

StartedMonitor start_monitor(RuntimeCore& core, const store::ContainerRecord& record,
                             const images::StopToken& stop) {
  const auto& config = record.config();
  monitor::MonitorOptions options;
  options.id = record.id();
  options.bundle = record.bundle();
  options.runtime = core.runtime().binary();
  options.runtime_root = core.runtime().root();
  options.systemd_cgroup = record.systemd_cgroup();
  options.log_path = record.log_path();
  options.exit_file = core.exit_file(record.id());
  options.stdin_open = config.stdin();
  options.tty = config.tty();
  options.restore_from = record.restore_from();
  options.sync_fd = 3;

  int sync[2];
  if (::pipe2(sync, O_CLOEXEC) != 0) isolate::throw_sys("pipe for the monitor");
  isolate::UniqueFd read_end(sync[0]);
  isolate::UniqueFd write_end(sync[1]);
  isolate::SpawnRequest request;
  request.argv = {core.helpers().monitor, "container"};
  for (auto& flag : monitor::monitor_flags(options)) request.argv.push_back(std::move(flag));
  request.pass_fds = {write_end.get()};
  pid_t first = isolate::spawn_program(request);
  write_end.reset();
  // The first process forks the monitor and ends at once.
  isolate::wait_program(first);

  StartedMonitor started;
  isolate::UniqueFd monitor;
  try {
    auto reports =
        read_helper_reports(read_end.get(), "CE", kCreateTimeout, stop,
                            "the monitor of " + record.id(), [&](const HelperReport& report) {
                              if (report.tag != 'M') return;
                              started.monitor = pid_of(report);
                              // Held from now on: the pid cannot be another process's when it is
                              // killed below.
                              monitor = open_monitor(started.monitor, record.id());
                            });
    if (reports.back().tag == 'E') {
      throw isolate::Error(isolate::ErrorKind::Internal,
                           "create the container: " + reports.back().text);
    }
    started.init = pid_of(reports.back());
  } catch (...) {
    // Given up on (a timeout, a cancelled call): the monitor goes, and with it the `hanok create`
    // it waits for; the caller removes what the runtime made.
    if (monitor) isolate::send_signal(monitor.get(), SIGKILL);
    throw;
  }
  return started;
}

}  // namespace hanok::cri
