// create, start and run.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>

#include "container_cgroup.hpp"
#include "foreground.hpp"
#include "isolate/clock.hpp"
#include "isolate/console.hpp"
#include "isolate/error.hpp"
#include "isolate/files.hpp"
#include "isolate/log.hpp"
#include "isolate/process.hpp"
#include "launch.hpp"
#include "oci/hooks.hpp"
#include "oci/resources.hpp"
#include "oci/runtime.hpp"

namespace hanok::oci {

using isolate::UniqueFd;

struct Runtime::Launched {
  ContainerState state;
  Spec spec;
  isolate::SyncChannel channel;
};

Runtime::Runtime(std::string state_root, bool systemd_cgroup)
    : store_(std::move(state_root)), systemd_cgroup_(systemd_cgroup) {}

namespace {
std::string absolute_existing(const std::string& path, const std::string& field) {
  char* resolved = ::realpath(path.c_str(), nullptr);
  if (resolved == nullptr) isolate::throw_sys(field + ":", path);
  std::string result(resolved);
  ::free(resolved);
  return result;
}

UniqueFd listen_for_start(const std::string& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (!fd) isolate::throw_sys("socket for", path);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path) isolate::throw_sys("bind", path, ENAMETOOLONG);
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    isolate::throw_sys("bind", path);
  }
  if (::listen(fd.get(), 4) != 0) isolate::throw_sys("listen", path);
  return fd;
}

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
  isolate::write_existing_file("/proc/self/timens_offsets", offsets);
}

// Kills and reaps a half-created container and removes its cgroup and state when creation
// fails.
class CreationGuard {
 public:
  CreationGuard(const StateStore& store, std::string id) : store_(store), id_(std::move(id)) {}
  ~CreationGuard() {
    if (committed_) return;
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      try {
        isolate::wait_child(pid_);
      } catch (...) {
      }
    }
    if (cgroup_ != nullptr) {
      try {
        cgroup_->kill_all(SIGKILL);
        cgroup_->destroy();
      } catch (const std::exception& e) {
        isolate::log_warning(std::string("removing the cgroup of a failed create: ") + e.what());
      }
    }
    try {
      store_.remove(id_);
    } catch (const std::exception& e) {
      isolate::log_warning(std::string("cleaning up a failed create: ") + e.what());
    }
  }
  void set_pid(pid_t pid) { pid_ = pid; }
  void set_cgroup(isolate::cgroup::Cgroup* cgroup) { cgroup_ = cgroup; }
  void commit() { committed_ = true; }

 private:
  const StateStore& store_;
  std::string id_;
  pid_t pid_ = 0;
  isolate::cgroup::Cgroup* cgroup_ = nullptr;
  bool committed_ = false;
};

void write_pid_file(const std::string& path, pid_t pid) {
  if (!path.empty()) isolate::write_file_atomic(path, std::to_string(pid), 0644);
}
}  // namespace

Runtime::Launched Runtime::launch(const CreateOptions& options, bool run_mode) {
  validate_container_id(options.id);
  std::string bundle = absolute_existing(options.bundle, "bundle");
  std::string config_text = isolate::read_file(bundle + "/config.json");
  Spec spec = parse_spec(config_text);
  if (!spec.process) throw SpecError("process: required to create a container");
  if (!spec.linux.has_namespace(isolate::NamespaceType::Mount)) {
    throw SpecError("linux.namespaces: a mount namespace is required");
  }
  std::string root_path = spec.root.path[0] == '/' ? spec.root.path : bundle + "/" + spec.root.path;
  std::string rootfs = absolute_existing(root_path, "root.path");
  isolate::cgroup::Resources resources = container_resources(spec);
  std::string cgroup_path = cgroup_path_for(spec, options.id, systemd_cgroup_);

  auto cgroup = isolate::cgroup::open_cgroup(cgroup_path);  // outlives the guard that may remove it

  store_.create_dir(options.id);
  CreationGuard guard(store_, options.id);
  bool cgroup_existed = cgroup->exists();
  if (!cgroup_existed) guard.set_cgroup(cgroup.get());
  cgroup->create();
  cgroup->apply(resources);

  launch::Plan plan;
  plan.spec = &spec;
  plan.process = &*spec.process;
  plan.rootfs = rootfs;
  plan.bundle = bundle;
  plan.no_pivot = options.no_pivot;
  plan.new_keyring = !options.no_new_keyring;
  plan.keyring_name = "_ses." + options.id;
  plan.preserve_fds = options.preserve_fds;
  const auto& hooks = spec.hooks;
  plan.pause_for_hooks =
      !hooks.prestart.empty() || !hooks.create_runtime.empty() || !hooks.create_container.empty();
  if (spec.linux.seccomp) plan.seccomp = isolate::compile_seccomp(*spec.linux.seccomp);

  UniqueFd start_listener;
  if (!run_mode) {
    start_listener = listen_for_start(store_.start_socket_of(options.id));
    plan.start_listener = start_listener.get();
  }
  UniqueFd console;
  if (!options.console_socket.empty()) {
    console = isolate::connect_unix(options.console_socket);
    plan.console_socket = console.get();
  }

  std::vector<launch::NamespaceToJoin> joins;
  std::vector<UniqueFd> join_fds;
  uint64_t new_flags = 0;
  for (const auto& ns : spec.linux.namespaces) {
    if (ns.type == isolate::NamespaceType::User) {
      plan.in_user_namespace = true;
      plan.new_user_namespace = ns.path.empty();
    }
    if (!ns.path.empty()) {
      UniqueFd fd(::open(ns.path.c_str(), O_RDONLY | O_CLOEXEC));
      if (!fd) {
        isolate::throw_sys(
            std::string("linux.namespaces: open the ") + isolate::oci_name(ns.type) + " namespace",
            ns.path);
      }
      joins.push_back({ns.type, fd.get()});
      join_fds.push_back(std::move(fd));
    } else if (ns.type == isolate::NamespaceType::Cgroup) {
      plan.new_cgroup_namespace = true;
    } else if (ns.type != isolate::NamespaceType::Time || spec.linux.time_offsets.empty()) {
      new_flags |= isolate::clone_flag(ns.type);
    }
  }
  prepare_time_namespace(spec);

  auto [runtime_end, child_end] = isolate::SyncChannel::create_pair();
  int cgroup_fd = cgroup->clone_into_fd();
  pid_t pid = launch::spawn(joins, new_flags, cgroup_fd, runtime_end, child_end,
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

  ContainerState state;
  state.id = options.id;
  state.pid = pid;
  state.pid_start_time = isolate::process_start_time(pid).value_or(0);
  state.bundle = bundle;
  state.rootfs = rootfs;
  state.created = isolate::rfc3339_now();
  state.annotations = spec.annotations;
  state.config_json = std::move(config_text);
  state.cgroup_path = cgroup_path;
  state.resources = resources_to_json(resources);

  if (plan.pause_for_hooks) {
    launch::expect(runtime_end, launch::kHookPoint, "mounting the rootfs");
    std::string creating = state_json(state, Status::Creating).dump();
    run_hooks(hooks.prestart, "prestart", creating);
    run_hooks(hooks.create_runtime, "createRuntime", creating);
    runtime_end.send(launch::kHooksDone, creating);
  }
  launch::expect(runtime_end, launch::kReady, "creating the container");
  store_.save(state);
  write_pid_file(options.pid_file, pid);
  guard.commit();
  return Launched{std::move(state), std::move(spec), std::move(runtime_end)};
}

void Runtime::create(const CreateOptions& options) {
  launch(options, false);
}

void Runtime::start(const std::string& id) {
  ContainerState state = store_.load(id);
  Status status = this->status(state);
  if (status != Status::Created) {
    throw std::runtime_error("cannot start container \"" + id + "\": it is " + status_name(status) +
                             ", not created");
  }
  std::string socket_path = store_.start_socket_of(id);
  UniqueFd fd(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, socket_path.c_str(),
              std::min(socket_path.size() + 1, sizeof address.sun_path - 1));
  if (!fd || ::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    throw std::runtime_error("cannot start container \"" + id +
                             "\": it is not waiting for start (" + isolate::errno_text(errno) +
                             ")");
  }
  ::unlink(socket_path.c_str());
  isolate::SyncChannel channel(std::move(fd));
  channel.send(launch::kStart, state_json(state, Status::Created).dump());
  auto outcome = channel.receive();
  if (outcome.tag == launch::kError) {
    throw std::runtime_error("start container \"" + id + "\": " + outcome.payload);
  }
  finish_start(state, parse_spec(state.config_json));
}

void Runtime::finish_start(const ContainerState& state, const Spec& spec) {
  run_hooks_warn_only(spec.hooks.poststart, "poststart", state_json(state, Status::Running).dump());
}

int Runtime::run(const CreateOptions& options, bool detach) {
  std::optional<SignalBlock> blocked;
  if (!detach) blocked.emplace();
  Launched launched = launch(options, true);
  const ContainerState& state = launched.state;
  launched.channel.send(launch::kStart, state_json(state, Status::Created).dump());
  auto outcome = launched.channel.receive();
  if (outcome.tag == launch::kError) {
    isolate::wait_child(state.pid);
    destroy(state, launched.spec);
    throw std::runtime_error("start container \"" + state.id + "\": " + outcome.payload);
  }
  finish_start(state, launched.spec);
  if (detach) return 0;
  int status = forward_signals_until_exit(state.pid);
  destroy(state, launched.spec);
  return isolate::exit_code_of(status);
}

}  // namespace hanok::oci
