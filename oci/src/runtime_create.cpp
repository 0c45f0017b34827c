// create, start and run: a plan made from the bundle before anything changes, then carried out.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

#include "container_cgroup.hpp"
#include "create_plan.hpp"
#include "foreground.hpp"
#include "isolate/clock.hpp"
#include "isolate/console.hpp"
#include "isolate/error.hpp"
#include "isolate/files.hpp"
#include "isolate/log.hpp"
#include "isolate/process.hpp"
#include "isolate/unix_socket.hpp"
#include "launch.hpp"
#include "oci/hooks.hpp"
#include "oci/resources.hpp"
#include "oci/runtime.hpp"

namespace hanok::oci {

using isolate::Error;
using isolate::ErrorKind;
using isolate::UniqueFd;

struct Runtime::Launched {
  ContainerState state;
  Spec spec;
  isolate::SyncChannel channel;
  ContainerLock lock;
};

Runtime::Runtime(std::string state_root, bool systemd_cgroup)
    : store_(std::move(state_root)), systemd_cgroup_(systemd_cgroup) {}

namespace {

// A new time namespace with offsets is made in the runtime and entered by its children: the
// offsets can only be written before any process lives in it.
void prepare_time_namespace(const Spec& spec) {
  if (spec.linux.time_offsets.empty()) return;
  if (::unshare(CLONE_NEWTIME) != 0) isolate::throw_sys("unshare the time namespace", "");
  std::string offsets;
  for (const auto& [clock, offset] : spec.linux.time_offsets) {
    offsets +=
        clock + " " + std::to_string(offset.secs) + " " + std::to_string(offset.nanosecs) + "\n";
  }
  isolate::write_knob("/proc/self/timens_offsets", offsets);
}

std::string absolute_existing(const std::string& path, const std::string& field) {
  char* resolved = ::realpath(path.c_str(), nullptr);
  if (resolved == nullptr) isolate::throw_sys(field + ":", path);
  std::string result(resolved);
  ::free(resolved);
  return result;
}

}  // namespace

CreatePlan plan_create(const CreateOptions& options, bool systemd_cgroup) {
  validate_container_id(options.id);
  CreatePlan plan;
  plan.id = options.id;
  plan.bundle = absolute_existing(options.bundle, "bundle");
  plan.config_text = isolate::read_file(plan.bundle + "/config.json");
  plan.spec = parse_spec(plan.config_text);
  const Spec& spec = plan.spec;
  if (!spec.process) throw SpecError("process: required to create a container");
  if (!spec.linux.has_namespace(isolate::NamespaceType::Mount)) {
    throw SpecError("linux.namespaces: a mount namespace is required");
  }
  std::string root_path =
      spec.root.path[0] == '/' ? spec.root.path : plan.bundle + "/" + spec.root.path;
  plan.rootfs = absolute_existing(root_path, "root.path");
  plan.resources = container_resources(spec);
  plan.cgroup = cgroup_location_for(spec, options.id, systemd_cgroup);
  if (spec.linux.seccomp) plan.seccomp = isolate::compile_seccomp(*spec.linux.seccomp);
  for (const auto& ns : spec.linux.namespaces) {
    if (ns.type == isolate::NamespaceType::User) {
      plan.in_user_namespace = true;
      plan.new_user_namespace = ns.path.empty();
    }
    if (!ns.path.empty()) {
      plan.joins.emplace_back(ns.type, ns.path);
    } else if (ns.type == isolate::NamespaceType::Cgroup) {
      plan.new_cgroup_namespace = true;  // unshared by the init once it is in its cgroup
    } else if (ns.type != isolate::NamespaceType::Time || spec.linux.time_offsets.empty()) {
      plan.new_namespace_flags |= isolate::clone_flag(ns.type);
    }
  }
  return plan;
}

ContainerState new_state(const CreatePlan& made, Status recorded, pid_t pid, bool cgroup_made) {
  ContainerState state;
  state.id = made.id;
  state.recorded = recorded;
  state.pid = pid;
  state.pid_start_time = isolate::process_start_time(pid).value_or(0);
  state.bundle = made.bundle;
  state.rootfs = made.rootfs;
  state.created = isolate::rfc3339_now();
  state.annotations = made.spec.annotations;
  state.config_json = made.config_text;
  state.cgroup = made.cgroup;
  state.cgroup_created = cgroup_made;
  state.resources = resources_to_json(made.resources);
  return state;
}

void write_pid_file(const std::string& path, pid_t pid) {
  if (!path.empty()) isolate::write_file_atomic(path, std::to_string(pid), 0644);
}

// runc 1.2: a container never joins a cgroup that already holds other processes.
void refuse_busy_cgroup(isolate::cgroup::Cgroup& cgroup) {
  size_t count = cgroup.processes().size();
  if (count == 0) return;
  throw Error(ErrorKind::Invalid, "linux.cgroupsPath: container's cgroup " + cgroup.path() +
                                      " is not empty: " + std::to_string(count) +
                                      " process(es) found");
}

Runtime::Launched Runtime::launch(const CreateOptions& options, bool run_mode) {
  CreatePlan made = plan_create(options, systemd_cgroup_);
  const Spec& spec = made.spec;

  auto cgroup = isolate::cgroup::open_cgroup(made.cgroup);  // outlives the guard
  ContainerLock lock = store_.create_locked(options.id);
  CreationGuard guard(store_, options.id);
  if (!cgroup->exists()) guard.set_created_cgroup(cgroup.get());  // for a failing create()
  bool cgroup_made = cgroup->create();
  if (!cgroup_made) {
    // There already (or made meanwhile by a concurrent create): not ours to remove.
    guard.set_created_cgroup(nullptr);
    refuse_busy_cgroup(*cgroup);
  }
  cgroup->apply(made.resources);

  launch::Plan plan;
  plan.spec = &spec;
  plan.process = &*spec.process;
  plan.rootfs = made.rootfs;
  plan.bundle = made.bundle;
  plan.no_pivot = options.no_pivot;
  plan.new_keyring = !options.no_new_keyring;
  plan.keyring_name = "_ses." + options.id;
  plan.preserve_fds = options.preserve_fds;
  plan.in_user_namespace = made.in_user_namespace;
  plan.new_user_namespace = made.new_user_namespace;
  plan.new_cgroup_namespace = made.new_cgroup_namespace;
  plan.cgroup_mode = cgroup->mode();
  plan.cgroup_hierarchies = cgroup->hierarchy_dirs();
  plan.seccomp = made.seccomp;
  plan.runtime_fds = {lock.fd()};
  const auto& hooks = spec.hooks;
  plan.pause_for_hooks =
      !hooks.prestart.empty() || !hooks.create_runtime.empty() || !hooks.create_container.empty();

  UniqueFd start_listener;
  if (!run_mode) {
    start_listener =
        isolate::listen_unix(lock.path_of(StateStore::kStartSocket), SOCK_SEQPACKET, 4);
    plan.start_listener = start_listener.get();
  }
  UniqueFd console;
  if (!options.console_socket.empty()) {
    console = isolate::connect_unix(options.console_socket);
    plan.console_socket = console.get();
  }
  std::vector<launch::NamespaceToJoin> joins;
  std::vector<UniqueFd> join_fds;
  for (const auto& [type, path] : made.joins) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
      isolate::throw_sys(
          std::string("linux.namespaces: open the ") + isolate::oci_name(type) + " namespace",
          path);
    }
    joins.push_back({type, fd.get()});
    join_fds.push_back(std::move(fd));
  }
  prepare_time_namespace(spec);

  auto [runtime_end, child_end] = isolate::SyncChannel::create_pair();
  int cgroup_fd = cgroup->clone_into_fd();
  // Fds of the host the init needs no more once it is born.
  if (cgroup_fd >= 0) plan.runtime_fds.push_back(cgroup_fd);
  for (const auto& fd : join_fds) plan.runtime_fds.push_back(fd.get());
  pid_t pid = launch::spawn(joins, made.new_namespace_flags, cgroup_fd, runtime_end, child_end,
                            [&] { launch::container_init_main(plan, child_end); });
  guard.set_pid(pid);
  join_fds.clear();
  start_listener.reset();
  console.reset();

  if (plan.new_user_namespace) {
    isolate::write_id_maps(pid, spec.linux.uid_mappings, spec.linux.gid_mappings, false);
  }
  // On v1 the init is moved into its cgroup. Moving waits for an RCU grace period, so it runs
  // while the init builds its rootfs; it is done before the init may fork a hook or execute
  // (both wait for a message sent after this). A new cgroup namespace must see the cgroup at
  // once, so then the move comes first.
  bool move_first = cgroup_fd < 0 && plan.new_cgroup_namespace;
  if (move_first) cgroup->add_process(pid);
  runtime_end.send(launch::kGo);
  if (cgroup_fd < 0 && !move_first) cgroup->add_process(pid);

  ContainerState state = new_state(made, Status::Created, pid, cgroup_made);

  if (plan.pause_for_hooks) {
    launch::expect(runtime_end, launch::kHookPoint, "mounting the rootfs", pid);
    std::string creating = state_json(state, Status::Creating).dump();
    run_hooks(hooks.prestart, "prestart", creating);
    run_hooks(hooks.create_runtime, "createRuntime", creating);
    runtime_end.send(launch::kHooksDone, creating);
  }
  launch::expect(runtime_end, launch::kReady, "creating the container", pid);
  store_.save(state);
  write_pid_file(options.pid_file, pid);
  guard.commit();
  return Launched{std::move(state), std::move(made.spec), std::move(runtime_end), std::move(lock)};
}

void Runtime::create(const CreateOptions& options) {
  launch(options, false);
}

void Runtime::start(const std::string& id) {
  ContainerLock lock = store_.lock(id);
  ContainerState state = store_.load(id);
  switch (status(state)) {
    case Status::Created:
      break;
    case Status::Stopped:
      throw Error(ErrorKind::WrongState, "cannot start a container that has stopped");
    case Status::Running:
      throw Error(ErrorKind::WrongState, "cannot start an already running container");
    default:
      throw Error(ErrorKind::WrongState, std::string("cannot start a container in the ") +
                                             status_name(status(state)) + " state");
  }
  isolate::SyncChannel channel(
      isolate::connect_unix(lock.path_of(StateStore::kStartSocket), SOCK_SEQPACKET,
                            "the container's init is not waiting for start: connect"));
  ::unlinkat(lock.fd(), StateStore::kStartSocket, 0);
  channel.send(launch::kStart, state_json(state, Status::Created).dump());
  launch::ExecOutcome outcome = launch::await_exec(channel);
  finish_start(state, parse_spec(state.config_json), outcome.executed ? "" : outcome.error);
}

void Runtime::finish_start(ContainerState& state, const Spec& spec,
                           const std::string& outcome_error) {
  if (!outcome_error.empty()) throw Error(ErrorKind::Internal, outcome_error);
  state.recorded = Status::Running;
  store_.save(state);
  run_hooks_warn_only(spec.hooks.poststart, "poststart", state_json(state, Status::Running).dump());
}

int Runtime::run(const CreateOptions& options, bool detach, bool keep) {
  std::optional<SignalBlock> blocked;
  if (!detach) blocked.emplace();
  Launched launched = launch(options, true);
  ContainerState& state = launched.state;
  launched.channel.send(launch::kStart, state_json(state, Status::Created).dump());
  launch::ExecOutcome outcome = launch::await_exec(launched.channel, state.pid);
  if (!outcome.executed) {
    isolate::wait_child(state.pid);
    destroy(state, launched.spec);
    throw Error(ErrorKind::Internal, outcome.error);
  }
  finish_start(state, launched.spec, "");
  launched.lock = ContainerLock();
  if (detach) return 0;
  int status = forward_signals_until_exit(state.pid);
  if (keep) return isolate::exit_code_of(status);
  try {
    ContainerLock lock = store_.lock(state.id);
    destroy(state, launched.spec);
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::NotFound) throw;  // deleted meanwhile by someone else
  }
  return isolate::exit_code_of(status);
}

}  // namespace hanok::oci
