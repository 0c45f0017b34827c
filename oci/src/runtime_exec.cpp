// exec: a new process inside a running container.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <optional>
#include <stdexcept>

#include "container_cgroup.hpp"
#include "foreground.hpp"
#include "isolate/console.hpp"
#include "isolate/error.hpp"
#include "isolate/files.hpp"
#include "isolate/log.hpp"
#include "isolate/process.hpp"
#include "isolate/unix_socket.hpp"
#include "launch.hpp"
#include "oci/runtime.hpp"

namespace hanok::oci {

using isolate::UniqueFd;

namespace {
// Thaws a frozen cgroup for as long as it lives.
class Refreeze {
 public:
  explicit Refreeze(isolate::cgroup::Cgroup& cgroup) : cgroup_(cgroup) { cgroup_.thaw(); }
  ~Refreeze() {
    try {
      cgroup_.freeze();
    } catch (const std::exception& e) {
      isolate::log_warning(std::string("exec --ignore-paused: freezing again: ") + e.what());
    }
  }
  Refreeze(const Refreeze&) = delete;
  Refreeze& operator=(const Refreeze&) = delete;

 private:
  isolate::cgroup::Cgroup& cgroup_;
};
}  // namespace

int Runtime::exec(const ExecOptions& options) {
  ContainerState state = store_.load(options.id);
  Status status = this->status(state);
  if (status == Status::Stopped) {
    throw isolate::Error(isolate::ErrorKind::NotRunning, "cannot exec in a stopped container");
  }
  if (status == Status::Paused && !options.ignore_paused) {
    throw isolate::Error(isolate::ErrorKind::WrongState, "cannot exec in a paused container");
  }
  Spec spec = parse_spec(state.config_json);

  launch::Plan plan;
  plan.spec = &spec;
  plan.process = &options.process;
  plan.rootfs = state.rootfs;
  plan.bundle = state.bundle;
  plan.preserve_fds = options.preserve_fds;
  if (spec.linux.seccomp) plan.seccomp = isolate::compile_seccomp(*spec.linux.seccomp);
  UniqueFd console;
  if (!options.console_socket.empty()) {
    console = isolate::connect_unix(options.console_socket);
    plan.console_socket = console.get();
  }

  // Every namespace of the container's init, except those the runtime already shares.
  std::vector<launch::NamespaceToJoin> joins;
  std::vector<UniqueFd> join_fds;
  for (const auto& ns : spec.linux.namespaces) {
    const char* name = isolate::proc_ns_name(ns.type);
    std::string path = "/proc/" + std::to_string(state.pid) + "/ns/" + name;
    if (isolate::same_namespace(path, std::string("/proc/self/ns/") + name)) continue;
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) isolate::throw_sys("open the container's namespace", path);
    if (ns.type == isolate::NamespaceType::User) plan.in_user_namespace = true;
    joins.push_back({ns.type, fd.get()});
    join_fds.push_back(std::move(fd));
  }
  if (!isolate::process_alive(state.pid, state.pid_start_time)) {
    throw isolate::Error(isolate::ErrorKind::NotRunning, "cannot exec in a stopped container");
  }

  std::optional<SignalBlock> blocked;
  if (!options.detach) blocked.emplace();
  auto [runtime_end, child_end] = isolate::SyncChannel::create_pair();
  // The process joins the container's cgroup: born there on v2, moved before it runs on v1.
  auto cgroup = open_container_cgroup(state);
  if (cgroup && !cgroup->exists()) cgroup.reset();
  // --ignore-paused: the container thaws while the process joins it (it could not report back
  // from a frozen cgroup), and freezes again with the new process in it.
  ContainerLock lock;
  std::optional<Refreeze> refreeze;
  if (status == Status::Paused && cgroup) {
    lock = store_.lock(options.id);
    refreeze.emplace(*cgroup);
  }
  int cgroup_fd = cgroup ? cgroup->clone_into_fd() : -1;
  pid_t pid = launch::spawn(joins, 0, cgroup_fd, runtime_end, child_end,
                            [&] { launch::exec_main(plan, child_end); });
  if (cgroup && cgroup_fd < 0) cgroup->add_process(pid);
  runtime_end.send(launch::kGo);
  launch::ExecOutcome outcome = launch::await_exec(runtime_end, pid);
  refreeze.reset();
  lock = ContainerLock();
  if (!outcome.executed) {
    isolate::wait_child(pid);
    throw isolate::Error(isolate::ErrorKind::Internal, outcome.error);
  }
  if (!options.pid_file.empty()) {
    isolate::write_file_atomic(options.pid_file, std::to_string(pid), 0644);
  }
  if (options.detach) return 0;
  return isolate::exit_code_of(forward_signals_until_exit(pid));
}

}  // namespace hanok::oci
