// The code that runs in the cloned container process, from clone to execve.
#include <fcntl.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/keyctl.h>
#include <stdexcept>

#include "isolate/error.hpp"
#include "isolate/files.hpp"
#include "launch.hpp"
#include "oci/hooks.hpp"
#include "process_setup.hpp"
#include "rootfs_setup.hpp"

namespace hanok::oci::launch {

namespace {
void wait_for_go(const isolate::SyncChannel& channel) {
  if (channel.receive().tag != kGo) ::_exit(1);
}

void become_namespace_root(const Plan& plan) {
  if (!plan.new_user_namespace) return;
  // Root of the new user namespace, if 0 is mapped; otherwise stay as mapped.
  (void)::setresgid(0, 0, 0);
  (void)::setresuid(0, 0, 0);
}

void join_new_session_keyring(const Plan& plan) {
  if (!plan.new_keyring) return;
  // Keys of the host or of another container must not be shared; a kernel without keyrings or
  // a seccomp policy that blocks keyctl is not an error.
  (void)::syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, plan.keyring_name.c_str());
}

void set_names(const Spec& spec) {
  if (!spec.hostname.empty() && ::sethostname(spec.hostname.c_str(), spec.hostname.size()) != 0) {
    isolate::throw_sys("hostname: sethostname", spec.hostname);
  }
  if (!spec.domainname.empty() &&
      ::setdomainname(spec.domainname.c_str(), spec.domainname.size()) != 0) {
    isolate::throw_sys("domainname: setdomainname", spec.domainname);
  }
}

// create: `hanok start` connects to the listener; run: the runtime sends kStart. Returns the
// channel on which the outcome (an error, or EOF once execve succeeded) is reported.
isolate::SyncChannel wait_for_start(const Plan& plan, const isolate::SyncChannel& channel,
                                    std::string& state_json) {
  if (plan.start_listener < 0) {
    auto message = channel.receive();
    if (message.tag != kStart) ::_exit(1);
    state_json = std::move(message.payload);
    return isolate::SyncChannel(isolate::UniqueFd(::fcntl(channel.fd(), F_DUPFD_CLOEXEC, 3)));
  }
  for (;;) {
    isolate::UniqueFd connection(::accept4(plan.start_listener, nullptr, nullptr, SOCK_CLOEXEC));
    if (!connection) {
      if (errno == EINTR) continue;
      ::_exit(1);
    }
    isolate::SyncChannel starter(std::move(connection));
    auto message = starter.receive();
    if (message.tag != kStart) continue;
    ::close(plan.start_listener);
    state_json = std::move(message.payload);
    return starter;
  }
}
}  // namespace

namespace {
void close_runtime_fds(const Plan& plan) {
  for (int fd : plan.runtime_fds) ::close(fd);
}

}  // namespace

void container_init_main(const Plan& plan, isolate::SyncChannel& channel) {
  const Spec& spec = *plan.spec;
  close_runtime_fds(plan);
  try {
    wait_for_go(channel);
    // In its cgroup by now (born there on v2, moved before kGo on v1): that becomes the root of
    // its cgroup namespace.
    if (plan.new_cgroup_namespace && ::unshare(CLONE_NEWCGROUP) != 0) {
      isolate::throw_sys("unshare the cgroup namespace", "");
    }
    become_namespace_root(plan);
    ::umask(0);
    if (::setsid() < 0) isolate::throw_sys("setsid", "");
    join_new_session_keyring(plan);

    Rootfs rootfs = prepare_rootfs(plan);
    if (plan.pause_for_hooks) {
      channel.send(kHookPoint);
      auto done = expect(channel, kHooksDone, "running hooks");
      run_hooks(spec.hooks.create_container, "createContainer", done.payload);
    }
    enter_rootfs(plan, rootfs);
    if (plan.process->terminal) setup_terminal(plan, true);
    set_names(spec);
    finish_rootfs(spec, rootfs);
    rootfs = Rootfs();

    // Looked up once no fd of the host's is left and the cwd is known to be inside.
    prepare_process(plan, {channel.fd(), plan.start_listener});
    std::string executable = resolve_executable(*plan.process);
    channel.send(kReady);

    StartHooks start_hooks{&spec.hooks.start_container, {}};
    isolate::SyncChannel report = wait_for_start(plan, channel, start_hooks.state_json);
    channel.close();
    execute(plan, executable, report, start_hooks);
  } catch (const std::exception& e) {
    report_and_exit(channel, e.what(), 1);
  }
}

void exec_main(const Plan& plan, isolate::SyncChannel& channel) {
  close_runtime_fds(plan);
  try {
    wait_for_go(channel);
    if (::setsid() < 0) isolate::throw_sys("setsid", "");
    if (plan.process->terminal) setup_terminal(plan, false);
    prepare_process(plan, {channel.fd()});
    std::string executable = resolve_executable(*plan.process);
    execute(plan, executable, channel, StartHooks{});
  } catch (const std::exception& e) {
    report_and_exit(channel, e.what(), 1);
  }
}

}  // namespace hanok::oci::launch
