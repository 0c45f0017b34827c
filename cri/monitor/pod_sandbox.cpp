#include "pod_sandbox.hpp"

#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdexcept>

#include "isolate/error.hpp"
#include "isolate/files.hpp"
#include "isolate/pinned_namespace.hpp"
#include "isolate/text.hpp"

namespace hanok::cri::monitor {

PodSandboxOptions parse_pod_sandbox_flags(const std::vector<std::string>& args) {
  PodSandboxOptions o;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& flag = args[i];
    auto value = [&]() -> const std::string& {
      if (i + 1 >= args.size()) throw std::invalid_argument(flag + ": needs a value");
      return args[++i];
    };
    if (flag == "--dir") {
      o.dir = value();
    } else if (flag == "--hostname") {
      o.hostname = value();
    } else if (flag == "--sysctl") {
      const std::string& pair = value();
      size_t eq = pair.find('=');
      if (eq == std::string::npos || eq == 0) {
        throw std::invalid_argument("--sysctl: \"" + pair + "\" is not key=value");
      }
      o.sysctls.emplace_back(pair.substr(0, eq), pair.substr(eq + 1));
    } else if (flag == "--sync-fd") {
      auto fd = isolate::parse_i64(value());
      if (!fd || *fd < 0) throw std::invalid_argument("--sync-fd: not an fd number");
      o.sync_fd = static_cast<int>(*fd);
    } else if (flag == "--net") {
      o.net = true;
    } else if (flag == "--ipc") {
      o.ipc = true;
    } else if (flag == "--uts") {
      o.uts = true;
    } else if (flag == "--pid") {
      o.pid = true;
    } else {
      throw std::invalid_argument(flag + ": unknown flag");
    }
  }
  if (o.dir.empty()) throw std::invalid_argument("--dir: required");
  if (o.sync_fd < 0) throw std::invalid_argument("--sync-fd: required");
  return o;
}

std::vector<std::string> pod_sandbox_flags(const PodSandboxOptions& o) {
  std::vector<std::string> flags = {"--dir", o.dir, "--sync-fd", std::to_string(o.sync_fd)};
  if (o.net) flags.emplace_back("--net");
  if (o.ipc) flags.emplace_back("--ipc");
  if (o.uts) flags.emplace_back("--uts");
  if (o.pid) flags.emplace_back("--pid");
  if (!o.hostname.empty()) flags.insert(flags.end(), {"--hostname", o.hostname});
  for (const auto& [key, value] : o.sysctls)
    flags.insert(flags.end(), {"--sysctl", key + "=" + value});
  return flags;
}

std::string sysctl_path(const std::string& name) {
  std::string relative = name;
  for (char& c : relative) {
    if (c == '.') c = '/';
  }
  // Every dot is a separator, so no ".." survives; an empty part ("a..b", "/a") is no name.
  for (const std::string& part : isolate::split_exact(relative, '/')) {
    if (part.empty() || part == "..") {
      throw std::invalid_argument("sysctl \"" + name + "\": not a sysctl name");
    }
  }
  return "/proc/sys/" + relative;
}

namespace {

void report(int fd, char tag, const std::string& text) {
  std::string message(1, tag);
  message += text;
  message += '\n';
  (void)!::write(fd, message.data(), message.size());
}

// The pod's init, just forked: holds nothing of its starter's (not its stdio, which hanokd may
// read to the end, no other fd), and shows the containers of the pod nothing of the node (its
// command line is only "hanok-pod-init", not the helper's flags with their paths).
[[noreturn]] void become_pod_init() {
  ::setsid();
  if (::chdir("/") != 0) _exit(1);
  int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null < 0) _exit(1);
  for (int fd = 0; fd < 3; ++fd) ::dup2(null, fd);
  ::close_range(3, ~0U, 0);
  char name[] = "hanok-pod-init";
  char* argv[] = {name, nullptr};
  char* envp[] = {nullptr};
  ::execve("/proc/self/exe", argv, envp);
  run_pod_init();  // the binary is gone: the same loop, with the helper's command line
}

// What has been pinned, undone when the run fails.
class Pins {
 public:
  explicit Pins(std::string dir) : dir_(std::move(dir)) {}
  ~Pins() {
    if (keep_) return;
    for (const auto& path : made_) {
      try {
        isolate::unpin_namespace(path);
      } catch (const std::exception&) {
      }
    }
  }
  Pins(const Pins&) = delete;
  Pins& operator=(const Pins&) = delete;
  void pin(const std::string& ns_path, const char* name) {
    std::string target = dir_ + "/" + name;
    isolate::pin_namespace(ns_path, target);
    made_.push_back(target);
  }
  void keep() { keep_ = true; }

 private:
  std::string dir_;
  std::vector<std::string> made_;
  bool keep_ = false;
};

void set_up(const PodSandboxOptions& o, Pins& pins, pid_t& init) {
  int flags = 0;
  if (o.net) flags |= CLONE_NEWNET;
  if (o.ipc) flags |= CLONE_NEWIPC;
  if (o.uts) flags |= CLONE_NEWUTS;
  if (flags != 0 && ::unshare(flags) != 0) isolate::throw_sys("unshare the pod's namespaces");
  if (o.uts && !o.hostname.empty() && ::sethostname(o.hostname.data(), o.hostname.size()) != 0) {
    isolate::throw_sys("set the hostname", o.hostname);
  }
  if (o.net) isolate::bring_loopback_up();
  for (const auto& [key, value] : o.sysctls) {
    // Only namespaced sysctls reach here (hanokd checks them against the namespaces the pod owns).
    isolate::write_knob(sysctl_path(key), value);
  }
  if (o.net) pins.pin("/proc/self/ns/net", "net");
  if (o.ipc) pins.pin("/proc/self/ns/ipc", "ipc");
  if (o.uts) pins.pin("/proc/self/ns/uts", "uts");
  if (!o.pid) return;
  if (::unshare(CLONE_NEWPID) != 0) isolate::throw_sys("unshare the pod's PID namespace");
  init = ::fork();
  if (init < 0) isolate::throw_sys("fork the pod's init");
  if (init == 0) become_pod_init();
  pins.pin("/proc/" + std::to_string(init) + "/ns/pid", "pid");
}

}  // namespace

namespace {
// The pod's init needs nothing of the node: a mount namespace of its own whose root is an empty
// read-only tmpfs (the pod's containers, which see /proc/1, see nothing of the host through its
// root or cwd), no capabilities, the nobody user, no new privileges. Best effort: a step that
// fails leaves the init as it is, which still only waits and reaps.
void give_up_the_node() {
  if (::unshare(CLONE_NEWNS) == 0 &&
      ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0 &&
      ::mount("tmpfs", "/proc", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,mode=0555") ==
          0 &&
      ::chdir("/proc") == 0 && ::syscall(SYS_pivot_root, ".", ".") == 0) {
    ::umount2(".", MNT_DETACH);
    (void)!::chdir("/");
    ::mount(nullptr, "/", nullptr,
            MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr);
  }
  for (int cap = 0; cap <= 63; ++cap) ::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0);
  ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  constexpr uid_t kNobody = 65534;
  if (::setgroups(0, nullptr) == 0 && ::setresgid(kNobody, kNobody, kNobody) == 0) {
    (void)!::setresuid(kNobody, kNobody, kNobody);  // and with it every capability goes
  }
}
}  // namespace

void run_pod_init() {
  sigset_t all;
  sigfillset(&all);
  ::sigprocmask(SIG_BLOCK, &all, nullptr);
  ::prctl(PR_SET_NAME, "hanok-pod-init", 0, 0, 0);
  give_up_the_node();
  // Every signal stays blocked and is taken here: none ends the init (the pod's own processes
  // cannot end their pod's PID namespace); only hanokd's SIGKILL from outside does.
  for (;;) {
    siginfo_t info{};
    if (::sigwaitinfo(&all, &info) != SIGCHLD) continue;
    while (::waitpid(-1, nullptr, WNOHANG) > 0) {
    }
  }
}

int run_pod_sandbox(const PodSandboxOptions& o) {
  pid_t init = -1;
  try {
    Pins pins(o.dir);
    set_up(o, pins, init);
    if (init > 0) report(o.sync_fd, 'P', std::to_string(init));
    pins.keep();
  } catch (const std::exception& e) {
    if (init > 0) ::kill(init, SIGKILL);
    report(o.sync_fd, 'E', e.what());
    return 1;
  }
  report(o.sync_fd, 'N', "");
  return 0;
}

}  // namespace hanok::cri::monitor
