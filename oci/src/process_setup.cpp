#include "process_setup.hpp"

#include <fcntl.h>
#include <grp.h>
#include <linux/openat2.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <stdexcept>

#include "isolate/capabilities.hpp"
#include "isolate/console.hpp"
#include "isolate/error.hpp"
#include "isolate/files.hpp"
#include "isolate/in_root.hpp"
#include "isolate/log.hpp"
#include "isolate/mounts.hpp"
#include "isolate/process.hpp"
#include "isolate/rlimits.hpp"
#include "isolate/unique_fd.hpp"
#include "oci/hooks.hpp"

namespace hanok::oci::launch {

void setup_terminal(const Plan& plan, bool bind_console) {
  if (plan.console_socket < 0) {
    throw std::runtime_error("process.terminal is true but no --console-socket was given");
  }
  isolate::UniqueFd root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) isolate::throw_sys("open", "/");
  isolate::Pty pty = isolate::open_pty_in_root(root.get());
  if (bind_console) {
    // The console is a bind of the pty itself (from its fd), never of a path in the image.
    isolate::UniqueFd console =
        isolate::ensure_in_root(root.get(), "/dev/console", isolate::NodeKind::File, 0600);
    isolate::UniqueFd tree = isolate::clone_mount(pty.slave.get(), "", false, pty.slave_path);
    isolate::attach_mount(tree.get(), console.get(), "/dev/console");
  }
  if (plan.process->console_size) {
    isolate::set_window_size(pty.master.get(), plan.process->console_size->height,
                             plan.process->console_size->width);
  }
  isolate::send_fd(plan.console_socket, pty.master.get(), pty.slave_path);
  isolate::attach_controlling_terminal(pty.slave.get());
}

namespace {
std::string env_value(const std::vector<std::string>& env, const std::string& name) {
  for (const auto& entry : env) {
    if (entry.size() > name.size() && entry.compare(0, name.size(), name) == 0 &&
        entry[name.size()] == '=') {
      return entry.substr(name.size() + 1);
    }
  }
  return {};
}

// Looked at without following a /proc magic link (/proc/<pid>/fd/N, .../cwd, .../root): a path
// the container chose must not reach, through another process's fds, anything of the host's,
// even as a stat that tells whether it is there.
bool is_executable_file(const std::string& path) {
  open_how how{};
  how.flags = O_PATH | O_CLOEXEC;
  how.resolve = RESOLVE_NO_MAGICLINKS;
  isolate::UniqueFd fd(
      static_cast<int>(::syscall(SYS_openat2, AT_FDCWD, path.c_str(), &how, sizeof how)));
  struct stat st {};
  if (!fd || ::fstat(fd.get(), &st) != 0) return false;
  if (!S_ISREG(st.st_mode) || (st.st_mode & 0111) == 0) {
    errno = S_ISDIR(st.st_mode) ? EISDIR : EACCES;
    return false;
  }
  return true;
}

void warn(const char* message) {
  isolate::log_warning(message);
}

void apply_oom_score_adj(int wanted) {
  const std::string path = "/proc/self/oom_score_adj";
  try {
    isolate::write_knob(path, std::to_string(wanted));
  } catch (const isolate::SysError& e) {
    // Without CAP_SYS_RESOURCE the score cannot go below the runtime's own: keep that one.
    int current = std::stoi(isolate::read_file(path));
    if (wanted >= current) throw;
    isolate::log_warning("process.oomScoreAdj " + std::to_string(wanted) +
                         " is below the runtime's own " + std::to_string(current) +
                         " and cannot be set without CAP_SYS_RESOURCE; using " +
                         std::to_string(current));
  }
}

void load_seccomp(const Plan& plan) {
  if (!plan.seccomp) return;
  int rc = isolate::load_seccomp(*plan.seccomp);
  if (rc != 0) isolate::throw_sys("load the seccomp filter", "", -rc);
}

bool setgroups_allowed() {
  try {
    return isolate::read_file("/proc/self/setgroups").rfind("allow", 0) == 0;
  } catch (const isolate::SysError&) {
    return true;
  }
}
}  // namespace

std::string resolve_executable(const Process& process) {
  const std::string& name = process.args.at(0);
  if (name.find('/') != std::string::npos) {
    std::string path = name[0] == '/' ? name : process.cwd + "/" + name;
    if (!is_executable_file(path)) {
      throw std::runtime_error("exec: \"" + name +
                               "\": " + isolate::errno_text(errno == 0 ? EACCES : errno));
    }
    return path;
  }
  std::string search = env_value(process.env, "PATH");
  if (search.empty()) search = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  size_t start = 0;
  while (start <= search.size()) {
    size_t end = search.find(':', start);
    if (end == std::string::npos) end = search.size();
    std::string dir = search.substr(start, end - start);
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (is_executable_file(candidate)) return candidate;
    start = end + 1;
  }
  throw std::runtime_error("exec: \"" + name + "\": executable file not found in $PATH");
}

namespace {
// Closes every fd but stdio, the preserved fds and `channels`: the runtime's own (its log, the
// cgroup it was born into, namespace files, a console socket) and whatever its caller left
// open (a bundle directory). Closed, not only marked close-on-exec: until execve a directory
// fd is a way out of the root through /proc/self/fd/N, for chdir above all (CVE-2024-21626).
void close_host_fds(const Plan& plan, std::initializer_list<int> channels) {
  std::vector<int> keep(channels);
  for (int fd = 3; fd < 3 + plan.preserve_fds; ++fd) keep.push_back(fd);
  isolate::silence_log();  // its fd goes too
  isolate::close_fds_except(std::move(keep));
}
}  // namespace

void prepare_process(const Plan& plan, std::initializer_list<int> channels) {
  const Process& process = *plan.process;
  isolate::apply_rlimits(process.rlimits, warn);
  if (process.oom_score_adj) apply_oom_score_adj(*process.oom_score_adj);
  close_host_fds(plan, channels);
  if (::chdir(process.cwd.c_str()) != 0) isolate::throw_sys("process.cwd: chdir", process.cwd);
  // Symlinks the container planted are followed by chdir: wherever they led, it must be inside.
  isolate::check_cwd_inside_root("process.cwd " + process.cwd);
}

namespace {
// Only stdio, the preserved fds and `report` (close-on-exec, until execve) stay open.
void keep_only_process_fds(const Plan& plan, const isolate::SyncChannel& report) {
  close_host_fds(plan, {report.fd()});
  for (int fd = 3; fd < 3 + plan.preserve_fds; ++fd) ::fcntl(fd, F_SETFD, 0);
  ::fcntl(report.fd(), F_SETFD, FD_CLOEXEC);
}

// Groups, gid, uid, then the capability sets (bounding first, kept across setuid).
void apply_identity(const Process& process) {
  const isolate::CapabilitySets& caps = process.capabilities;
  isolate::drop_bounding_set(caps);
  if (::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) isolate::throw_sys("prctl PR_SET_KEEPCAPS", "");
  const User& user = process.user;
  if (setgroups_allowed()) {
    std::vector<gid_t> groups(user.additional_gids.begin(), user.additional_gids.end());
    if (::setgroups(groups.size(), groups.data()) != 0) {
      isolate::throw_sys("process.user.additionalGids: setgroups", "");
    }
  } else if (!user.additional_gids.empty()) {
    throw std::runtime_error(
        "process.user.additionalGids: setgroups is denied in this user namespace");
  }
  if (::setresgid(user.gid, user.gid, user.gid) != 0) {
    isolate::throw_sys("process.user.gid: setgid " + std::to_string(user.gid), "");
  }
  if (::setresuid(user.uid, user.uid, user.uid) != 0) {
    isolate::throw_sys("process.user.uid: setuid " + std::to_string(user.uid), "");
  }
  if (::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0) isolate::throw_sys("prctl PR_SET_KEEPCAPS", "");
  isolate::apply_capability_sets(caps);
  ::umask(user.umask.value_or(022));
}

void reset_signals() {
  struct sigaction default_action {};
  default_action.sa_handler = SIG_DFL;
  for (int signal = 1; signal < NSIG; ++signal) ::sigaction(signal, &default_action, nullptr);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
}

}  // namespace

void report_and_exit(const isolate::SyncChannel& report, const std::string& error, int code) {
  try {
    report.write(kError, error);
  } catch (...) {
  }
  ::_exit(code);
}

void execute(const Plan& plan, const std::string& path, const isolate::SyncChannel& report,
             const StartHooks& start_hooks) {
  const Process& process = *plan.process;
  std::vector<char*> argv;
  for (const auto& arg : process.args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const auto& entry : process.env) envp.push_back(const_cast<char*>(entry.c_str()));
  envp.push_back(nullptr);
  try {
    keep_only_process_fds(plan, report);
    reset_signals();
    // Without noNewPrivileges loading seccomp takes CAP_SYS_ADMIN: before the capabilities go.
    // After it come only what runc does after it too (the identity, the hooks, a write).
    if (!process.no_new_privileges) load_seccomp(plan);
    apply_identity(process);
    if (start_hooks.hooks != nullptr) {
      run_hooks(*start_hooks.hooks, "startContainer", start_hooks.state_json);
    }
    report.write(kExecuting);
  } catch (const std::exception& e) {
    report_and_exit(report, e.what(), 1);
  }
  // From here on only what any seccomp profile must let a container do: prctl, seccomp and
  // execve (and a write of the error when they fail).
  if (process.no_new_privileges) {
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
      report_and_exit(report, "prctl PR_SET_NO_NEW_PRIVS: " + isolate::errno_text(errno), 1);
    }
    if (plan.seccomp) {
      int rc = isolate::load_seccomp(*plan.seccomp);
      if (rc != 0) {
        report_and_exit(report, "load the seccomp filter: " + isolate::errno_text(-rc), 1);
      }
    }
  }
  ::execve(path.c_str(), argv.data(), envp.data());
  report_and_exit(report, "exec " + path + ": " + isolate::errno_text(errno), 127);
}

}  // namespace hanok::oci::launch
