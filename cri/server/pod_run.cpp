#include <spdlog/spdlog.h>

#include "call_context.hpp"
#include "cni_runtime_config.hpp"
#include "cri/runtime_service.hpp"
#include "isolate/clock.hpp"
#include "isolate/error.hpp"
#include "isolate/files.hpp"
#include "pod_network.hpp"
#include "pod_resources.hpp"
#include "runtime_core.hpp"
#include "unserved_fields.hpp"

namespace hanok::cri {

using isolate::Error;
using isolate::ErrorKind;

namespace {
void validate(const runtime::v1::PodSandboxConfig& config, const std::string& handler) {
  auto invalid = [](const std::string& field, const std::string& what) {
    return Error(ErrorKind::Invalid, "config." + field + ": " + what);
  };
  if (!config.has_metadata() || config.metadata().name().empty()) {
    throw invalid("metadata.name", "must not be empty");
  }
  if (!handler.empty() && handler != kRuntimeName) {
    throw Error(ErrorKind::Invalid, "runtime_handler: this node has no runtime handler \"" +
                                        handler + "\" (it has \"\" and \"hanok\")");
  }
  if (config.hostname().size() > 64) throw invalid("hostname", "longer than 64 bytes");
  refuse_unserved(config);
  (void)pod_bandwidth(config);  // throws for a bad bandwidth annotation
  const auto& ns = config.linux().security_context().namespace_options();
  if (ns.network() == runtime::v1::TARGET || ns.ipc() == runtime::v1::TARGET) {
    throw invalid("linux.security_context.namespace_options", "TARGET is for containers' pid only");
  }
  for (const auto& [key, value] : config.linux().sysctls()) {
    std::string field = "linux.sysctls[\"" + key + "\"]";
    if (key.find("..") != std::string::npos || key.empty()) throw invalid(field, "not a sysctl");
    if (value.find('\n') != std::string::npos) throw invalid(field, "a value of one line please");
    switch (sysctl_scope(key)) {
      case SysctlScope::None:
        throw invalid(field, "not a namespaced sysctl: it would change the whole node");
      case SysctlScope::Net:
      case SysctlScope::Uts:
        if (ns.network() == runtime::v1::NODE) {
          throw invalid(field, "the pod uses the host's network (and UTS) namespace");
        }
        break;
      case SysctlScope::Ipc:
        if (ns.ipc() == runtime::v1::NODE)
          throw invalid(field, "the pod uses the host's IPC namespace");
        break;
    }
  }
}
}  // namespace

grpc::Status RuntimeService::RunPodSandbox(grpc::ServerContext* context,
                                           const runtime::v1::RunPodSandboxRequest* request,
                                           runtime::v1::RunPodSandboxResponse* response) {
  const auto& config = request->config();
  return logged_call("RunPodSandbox", config.metadata().name(), [&] {
    validate(config, request->runtime_handler());
    auto stop = stop_token_for(context, core_.stopping());
    store::PodRecord pod;
    pod.set_id(new_id());
    std::string name = pod_name_key(config.metadata());
    std::string holder = core_.pod_names().reserve(name, pod.id());
    if (!holder.empty()) {
      throw Error(ErrorKind::AlreadyExists,
                  "pod sandbox name \"" + name + "\" is reserved for " + holder);
    }
    IdLock lock = core_.locks().lock(pod.id());
    *pod.mutable_config() = config;
    pod.set_state(runtime::v1::SANDBOX_READY);
    pod.set_created_at(isolate::unix_now_ns());
    pod.set_runtime_handler(request->runtime_handler());
    pod.set_dir(core_.pod_dir(pod.id()));
    try {
      isolate::make_dirs(pod.dir(), 0711);
      set_up_pod_cgroup(core_, pod);
      write_pod_files(core_, pod);
      set_up_pod_namespaces(core_, pod, stop);
      if (config.linux().security_context().namespace_options().network() != runtime::v1::NODE) {
        // Without a usable network config the pod fails, as containerd's ("cni plugin not
        // initialized"): a pod with loopback only would look ready, and the kubelet would run
        // its init containers again once the network came.
        NodeNetwork network = node_network(core_.config());
        if (!network.network) {
          throw Error(ErrorKind::WrongState,
                      "set up the network for pod sandbox " + pod.id() +
                          ": cni plugin not initialized: " + network.problem);
        }
        attach_pod_network(core_.cni_context(), *network.network, pod, stop);
        write_pod_hosts(pod);
      }
      stop.check("run pod sandbox " + pod.id());
      core_.save(pod);
    } catch (...) {
      remove_pod_resources(core_, pod);
      core_.pod_names().release(name, pod.id());
      core_.locks().forget(pod.id());
      throw;
    }
    spdlog::info("pod {} ({}/{}) running", pod.id(), config.metadata().namespace_(),
                 config.metadata().name());
    core_.publish(runtime::v1::CONTAINER_CREATED_EVENT, pod);
    core_.publish(runtime::v1::CONTAINER_STARTED_EVENT, pod);
    response->set_pod_sandbox_id(pod.id());
    return grpc::Status::OK;
  });
}

}  // namespace hanok::cri
