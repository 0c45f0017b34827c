#include "pod_resources.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/mount.h>
#include <unistd.h>

#include <sstream>

#include "helper_reports.hpp"
#include "isolate/cgroup.hpp"
#include "isolate/error.hpp"
#include "isolate/files.hpp"
#include "isolate/namespaces.hpp"
#include "isolate/pinned_namespace.hpp"
#include "isolate/process.hpp"
#include "isolate/spawn.hpp"
#include "isolate/text.hpp"
#include "pod_layout.hpp"
#include "pod_network.hpp"
#include "pod_sandbox.hpp"

namespace hanok::cri {

using isolate::Error;
using isolate::ErrorKind;
using runtime::v1::NamespaceMode;

namespace {
constexpr std::chrono::seconds kHelperTimeout{30};

const runtime::v1::NamespaceOption& namespace_options(const store::PodRecord& pod) {
  return pod.config().linux().security_context().namespace_options();
}

// Kills the pod's init, after checking through a pidfd that the pid is still that process (a pid
// is reused once its process is gone): its PID namespace is the pinned one, or, with the pin gone
// (unmounted behind hanokd's back), it started when the pod's init did.
void kill_pod_init(const store::PodRecord& pod) {
  if (pod.init_pid() <= 0) return;
  isolate::UniqueFd process;
  try {
    process = isolate::open_pidfd(pod.init_pid());
  } catch (const isolate::SysError&) {
    return;  // gone already
  }
  std::string pinned = pinned_namespace(pod, "pid");
  bool same =
      isolate::is_pinned_namespace(pinned)
          ? isolate::same_namespace("/proc/" + std::to_string(pod.init_pid()) + "/ns/pid", pinned)
          : pod.init_start_time() > 0 &&
                isolate::process_alive(pod.init_pid(), pod.init_start_time());
  if (!same) return;
  if (isolate::send_signal(process.get(), SIGKILL) != 0 && errno != ESRCH) {
    spdlog::warn("pod {}: killing its init {}: {}", pod.id(), pod.init_pid(),
                 isolate::errno_text(errno));
  }
}

}  // namespace

bool is_systemd_slice(const std::string& cgroup_parent) {
  std::string base = cgroup_parent.substr(cgroup_parent.rfind('/') + 1);
  return base.size() > 6 && base.ends_with(".slice");
}

CgroupPlacement container_cgroup(const store::PodRecord& pod, const std::string& id) {
  const std::string& parent = pod.cgroup_parent();
  CgroupPlacement placement;
  if (is_systemd_slice(parent)) {
    placement.cgroups_path = parent.substr(parent.rfind('/') + 1) + ":hanok:" + id;
    placement.path = isolate::cgroup::systemd_cgroup_path(placement.cgroups_path);
    placement.systemd = true;
  } else {
    placement.cgroups_path = parent + "/" + id;
    placement.path = placement.cgroups_path;
  }
  return placement;
}

SysctlScope sysctl_scope(const std::string& name) {
  std::string n = name;
  for (char& c : n) {
    if (c == '/') c = '.';
  }
  if (n.starts_with("net.")) return SysctlScope::Net;
  if (n.starts_with("kernel.shm") || n.starts_with("kernel.msg") || n == "kernel.sem" ||
      n.starts_with("fs.mqueue.")) {
    return SysctlScope::Ipc;
  }
  if (n == "kernel.hostname" || n == "kernel.domainname") return SysctlScope::Uts;
  return SysctlScope::None;
}

void set_up_pod_namespaces(RuntimeCore& core, store::PodRecord& pod,
                           const images::StopToken& stop) {
  const auto& ns = namespace_options(pod);
  monitor::PodSandboxOptions options;
  options.dir = pod.dir() + "/ns";
  options.net = ns.network() != runtime::v1::NODE;
  options.ipc = ns.ipc() != runtime::v1::NODE;
  options.uts = options.net;  // a host-network pod keeps the host's name, as containerd's
  // The pod has a PID namespace of its own (its PID 1 the pod init) unless it shares the node's,
  // whatever its containers do: as containerd's pause container, which has one for pod pid mode
  // CONTAINER too, so that a container asking for POD there joins it.
  options.pid = ns.pid() != runtime::v1::NODE;
  if (options.uts) options.hostname = pod.config().hostname();
  for (const auto& [key, value] : pod.config().linux().sysctls()) {
    options.sysctls.emplace_back(key, value);
  }
  isolate::make_dirs(options.dir, 0700);
  if (!options.net && !options.ipc && !options.uts && !options.pid) return;

  int sync[2];
  if (::pipe2(sync, O_CLOEXEC) != 0) isolate::throw_sys("pipe for the pod helper");
  isolate::UniqueFd read_end(sync[0]);
  isolate::UniqueFd write_end(sync[1]);
  options.sync_fd = 3;
  isolate::SpawnRequest request;
  request.argv = {core.helpers().monitor, "pod"};
  for (auto& flag : monitor::pod_sandbox_flags(options)) request.argv.push_back(std::move(flag));
  request.pass_fds = {write_end.get()};
  pid_t helper = isolate::spawn_program(request);
  write_end.reset();
  std::vector<HelperReport> reports;
  try {
    reports = read_helper_reports(read_end.get(), "NE", kHelperTimeout, stop, "the pod helper");
  } catch (...) {
    // Given up on: the helper goes; what it pinned is unpinned by the caller's removal, which
    // looks at the pin files themselves.
    ::kill(helper, SIGKILL);
    isolate::wait_program(helper);
    throw;
  }
  isolate::wait_program(helper);
  for (const auto& report : reports) {
    if (report.tag == 'P') {
      pod.set_init_pid(static_cast<int32_t>(isolate::parse_i64(report.text).value_or(0)));
      if (pod.init_pid() > 0) {
        pod.set_init_start_time(isolate::process_start_time(pod.init_pid()).value_or(0));
      }
    }
  }
  if (reports.back().tag == 'E') {
    throw Error(ErrorKind::Internal, "set up the pod's namespaces: " + reports.back().text);
  }
  if (options.net) pod.add_pinned("net");
  if (options.ipc) pod.add_pinned("ipc");
  if (options.uts) pod.add_pinned("uts");
  if (options.pid) pod.add_pinned("pid");
  if (pod.init_pid() > 0) {
    isolate::write_file_atomic(
        pod.dir() + "/init.pid",
        std::to_string(pod.init_pid()) + " " + std::to_string(pod.init_start_time()), 0600);
  }
}

bool pod_namespaces_intact(RuntimeCore& /*core*/, const store::PodRecord& pod) {
  for (const auto& name : pod.pinned()) {
    if (!isolate::is_pinned_namespace(pinned_namespace(pod, name))) return false;
  }
  if (pod.init_pid() > 0 &&
      !isolate::same_namespace("/proc/" + std::to_string(pod.init_pid()) + "/ns/pid",
                               pinned_namespace(pod, "pid"))) {
    return false;
  }
  // A zombie init (killed, not yet reaped) still shows its namespace: it is gone all the same.
  if (pod.init_pid() > 0 && pod.init_start_time() > 0 &&
      !isolate::process_alive(pod.init_pid(), pod.init_start_time())) {
    return false;
  }
  return true;
}

void release_pod_namespaces(RuntimeCore& /*core*/, store::PodRecord& pod) {
  if (pod.init_pid() <= 0) {
    // A record from before the pid was known (an interrupted run): the file has it.
    // "<pid> <start time>".
    if (auto text = isolate::read_file_if_exists(pod.dir() + "/init.pid")) {
      std::istringstream fields(*text);
      int32_t pid = 0;
      uint64_t start = 0;
      fields >> pid >> start;
      pod.set_init_pid(pid);
      pod.set_init_start_time(start);
    }
  }
  kill_pod_init(pod);
  // Every pin there is, recorded or not (a run cut short pinned some before it was recorded).
  for (const char* name : {"net", "ipc", "uts", "pid"}) {
    std::string pin = pinned_namespace(pod, name);
    if (!isolate::path_exists(pin)) continue;
    try {
      isolate::unpin_namespace(pin);
    } catch (const std::exception& e) {
      spdlog::warn("pod {}: {}", pod.id(), e.what());
    }
  }
  pod.clear_pinned();
  pod.set_init_pid(0);
  ::unlink((pod.dir() + "/init.pid").c_str());
}

void write_pod_hosts(const store::PodRecord& pod) {
  std::string hosts;
  if (namespace_options(pod).network() == runtime::v1::NODE) {
    hosts = isolate::read_file_if_exists("/etc/hosts").value_or("");
  } else {
    hosts = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n";
    const std::string& hostname = pod.config().hostname();
    for (const auto& ip : pod.ips())
      hosts += ip + "\t" + (hostname.empty() ? node_hostname() : hostname) + "\n";
  }
  isolate::write_file_atomic(pod.dir() + "/hosts", hosts, 0644);
}

void write_pod_files(RuntimeCore& /*core*/, store::PodRecord& pod) {
  const auto& config = pod.config();
  std::string hostname = config.hostname().empty() ? node_hostname() : config.hostname();
  isolate::write_file_atomic(pod.dir() + "/hostname", hostname + "\n", 0644);

  write_pod_hosts(pod);

  std::string resolv;
  const auto& dns = config.dns_config();
  if (dns.servers_size() + dns.searches_size() + dns.options_size() > 0) {
    if (dns.searches_size() > 0) {
      resolv += "search";
      for (const auto& search : dns.searches()) resolv += " " + search;
      resolv += "\n";
    }
    for (const auto& server : dns.servers()) resolv += "nameserver " + server + "\n";
    if (dns.options_size() > 0) {
      resolv += "options";
      for (const auto& option : dns.options()) resolv += " " + option;
      resolv += "\n";
    }
  } else {
    resolv = isolate::read_file_if_exists("/etc/resolv.conf").value_or("");
  }
  isolate::write_file_atomic(pod.dir() + "/resolv.conf", resolv, 0644);

  if (namespace_options(pod).ipc() == runtime::v1::NODE) return;
  std::string shm = pod.dir() + "/shm";
  isolate::make_dirs(shm, 0700);
  if (::mount("shm", shm.c_str(), "tmpfs", MS_NOEXEC | MS_NOSUID | MS_NODEV,
              "mode=1777,size=67108864") != 0) {
    isolate::throw_sys("mount the pod's /dev/shm on", shm);
  }
  pod.set_shm_mounted(true);
}

void unmount_pod_shm(store::PodRecord& pod) {
  if (!pod.shm_mounted()) return;
  std::string shm = pod.dir() + "/shm";
  if (::umount2(shm.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) != 0 && errno != EINVAL &&
      errno != ENOENT) {
    spdlog::warn("pod {}: unmount {}: {}", pod.id(), shm, isolate::errno_text(errno));
    return;
  }
  pod.set_shm_mounted(false);
}

void set_up_pod_cgroup(RuntimeCore& core, store::PodRecord& pod) {
  std::string parent = pod.config().linux().cgroup_parent();
  bool systemd = core.config().cgroup_driver == "systemd";
  // Without a parent from the kubelet, a cgroup of the pod's own below hanok's.
  if (parent.empty()) parent = systemd ? "hanok-" + pod.id() + ".slice" : "/hanok/" + pod.id();
  pod.set_cgroup_parent(parent);
  std::string path = is_systemd_slice(parent)
                         ? isolate::cgroup::expand_slice(parent.substr(parent.rfind('/') + 1))
                         : parent;
  if (path.empty() || path[0] != '/') {
    throw Error(ErrorKind::Invalid, "linux.cgroup_parent: \"" + parent +
                                        "\" is neither a systemd slice nor an " +
                                        "absolute cgroup path");
  }
  pod.set_cgroup_path(path);
  pod.set_cgroup_created(isolate::cgroup::open_cgroup(path)->create());
}

void remove_pod_resources(RuntimeCore& core, store::PodRecord pod) {
  try {
    detach_pod_network(core.cni_context(), pod);
  } catch (const std::exception& e) {
    spdlog::warn("pod {}: {}", pod.id(), e.what());
  }
  release_pod_namespaces(core, pod);
  unmount_pod_shm(pod);
  if (pod.cgroup_created() && !pod.cgroup_path().empty()) {
    try {
      isolate::cgroup::open_cgroup(pod.cgroup_path())->destroy();
    } catch (const std::exception& e) {
      spdlog::warn("pod {}: removing its cgroup {}: {}", pod.id(), pod.cgroup_path(), e.what());
    }
  }
  try {
    isolate::remove_tree(pod.dir());
  } catch (const std::exception& e) {
    spdlog::warn("pod {}: removing {}: {}", pod.id(), pod.dir(), e.what());
  }
}

}  // namespace hanok::cri
