#include <unistd.h>

#include <nlohmann/json.hpp>

#include "call_context.hpp"
#include "cri/runtime_service.hpp"
#include "criu_support.hpp"
#include "isolate/cgroup.hpp"
#include "pod_network.hpp"
#include "runtime_core.hpp"

namespace hanok::cri {

grpc::Status RuntimeService::Status(grpc::ServerContext*, const runtime::v1::StatusRequest* request,
                                    runtime::v1::StatusResponse* response) {
  return logged_call("Status", "", [&] {
    auto* status = response->mutable_status();
    auto* runtime_ready = status->add_conditions();
    runtime_ready->set_type("RuntimeReady");
    std::string missing;
    for (const auto& binary : {core_.helpers().runtime, core_.helpers().monitor}) {
      if (::access(binary.c_str(), X_OK) != 0) missing += (missing.empty() ? "" : ", ") + binary;
    }
    runtime_ready->set_status(missing.empty());
    if (!missing.empty()) {
      runtime_ready->set_reason("RuntimeBinariesMissing");
      runtime_ready->set_message("cannot execute " + missing);
    }
    auto* network_ready = status->add_conditions();
    network_ready->set_type("NetworkReady");
    NodeNetwork network = node_network(core_.config());
    network_ready->set_status(network.network.has_value());
    if (!network.network) {
      network_ready->set_reason("NetworkPluginNotReady");
      network_ready->set_message(network.problem);
    }
    // Exactly what is served, per handler ("" is the default one): the kubelet refuses a pod
    // that needs more (hostUsers: false, recursiveReadOnly: Enabled) before it gets here.
    for (const char* name : {"", kRuntimeName}) {
      auto* handler = response->add_runtime_handlers();
      handler->set_name(name);
      handler->mutable_features()->set_recursive_read_only_mounts(false);
      handler->mutable_features()->set_user_namespaces(false);
    }
    auto* features = response->mutable_features();
    features->set_supplemental_groups_policy(true);  // Strict: no groups from the image
    features->set_user_namespaces_host_network(false);
    features->set_mount_options(false);
    if (request->verbose()) {
      const CriuSupport& criu = criu_support();
      nlohmann::json info = {
          {"runtime", core_.helpers().runtime},
          {"monitor", core_.helpers().monitor},
          {"root", core_.config().root},
          {"state", core_.config().state},
          {"cgroupDriver", core_.config().cgroup_driver},
          {"cgroupMode", isolate::cgroup::mode_name(isolate::cgroup::detect_mode())},
          {"podCIDR", core_.pod_cidr()},
          {"cniConfDir", core_.config().cni_conf_dir},
          {"cniNetwork", network.network ? network.network->file : ""},
          // What is served: seccomp (libseccomp, RuntimeDefault and Localhost profiles), and
          // checkpoint/restore when CRIU can run here.
          {"features",
           {{"seccomp", true},
            {"seccompProfiles", {"RuntimeDefault", "Localhost", "Unconfined"}},
            {"checkpointRestore",
             {{"available", criu.available},
              {"criu", criu.binary},
              {"criuVersion", criu.version},
              {"problem", criu.problem}}}}},
      };
      (*response->mutable_info())["info"] = info.dump();
    }
    return grpc::Status::OK;
  });
}

}  // namespace hanok::cri
