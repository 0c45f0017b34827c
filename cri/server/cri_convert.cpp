#include "cri_convert.hpp"

#include <signal.h>

#include "cri_signals.hpp"

namespace hanok::cri {

runtime::v1::PodSandbox pod_sandbox_of(const store::PodRecord& pod) {
  runtime::v1::PodSandbox out;
  out.set_id(pod.id());
  *out.mutable_metadata() = pod.config().metadata();
  out.set_state(pod.state());
  out.set_created_at(pod.created_at());
  *out.mutable_labels() = pod.config().labels();
  *out.mutable_annotations() = pod.config().annotations();
  out.set_runtime_handler(pod.runtime_handler());
  return out;
}

runtime::v1::PodSandboxStatus pod_sandbox_status_of(const store::PodRecord& pod) {
  runtime::v1::PodSandboxStatus out;
  out.set_id(pod.id());
  *out.mutable_metadata() = pod.config().metadata();
  out.set_state(pod.state());
  out.set_created_at(pod.created_at());
  auto* network = out.mutable_network();
  for (int i = 0; i < pod.ips_size(); ++i) {
    if (i == 0) {
      network->set_ip(pod.ips(0));
    } else {
      network->add_additional_ips()->set_ip(pod.ips(i));
    }
  }
  const auto& ns = pod.config().linux().security_context().namespace_options();
  auto* options = out.mutable_linux()->mutable_namespaces()->mutable_options();
  options->set_network(ns.network());
  options->set_pid(ns.pid());
  options->set_ipc(ns.ipc());
  options->set_target_id(ns.target_id());
  *out.mutable_labels() = pod.config().labels();
  *out.mutable_annotations() = pod.config().annotations();
  out.set_runtime_handler(pod.runtime_handler());
  return out;
}

runtime::v1::Container container_of(const store::ContainerRecord& c) {
  runtime::v1::Container out;
  out.set_id(c.id());
  out.set_pod_sandbox_id(c.pod_id());
  *out.mutable_metadata() = c.config().metadata();
  *out.mutable_image() = c.config().image();
  out.set_image_ref(c.image_ref());
  out.set_image_id(c.image_id());
  out.set_state(c.state());
  out.set_created_at(c.created_at());
  *out.mutable_labels() = c.config().labels();
  *out.mutable_annotations() = c.config().annotations();
  return out;
}

runtime::v1::ContainerStatus container_status_of(const store::ContainerRecord& c) {
  runtime::v1::ContainerStatus out;
  out.set_id(c.id());
  *out.mutable_metadata() = c.config().metadata();
  out.set_state(c.state());
  out.set_created_at(c.created_at());
  if (c.state() == runtime::v1::CONTAINER_RUNNING || c.state() == runtime::v1::CONTAINER_EXITED ||
      c.state() == runtime::v1::CONTAINER_UNKNOWN) {
    out.set_started_at(c.started_at());
  }
  if (c.state() == runtime::v1::CONTAINER_EXITED || c.state() == runtime::v1::CONTAINER_UNKNOWN) {
    out.set_finished_at(c.finished_at());
    out.set_exit_code(c.exit_code());
  }
  out.mutable_image()->set_image(c.image_name());
  out.set_image_ref(c.image_ref());
  out.set_image_id(c.image_id());
  out.set_reason(c.reason());
  out.set_message(c.message());
  *out.mutable_labels() = c.config().labels();
  *out.mutable_annotations() = c.config().annotations();
  *out.mutable_mounts() = c.config().mounts();
  out.set_log_path(c.log_path());
  if (c.has_resources()) *out.mutable_resources()->mutable_linux() = c.resources();
  // The identity it runs with (what SupplementalGroupsPolicy's status shows) and its stop signal.
  if (c.has_user()) *out.mutable_user() = c.user();
  out.set_stop_signal(cri_signal(c.stop_signal() > 0 ? c.stop_signal() : SIGTERM));
  return out;
}

bool labels_match(const google::protobuf::Map<std::string, std::string>& labels,
                  const google::protobuf::Map<std::string, std::string>& selector) {
  for (const auto& [key, value] : selector) {
    auto it = labels.find(key);
    if (it == labels.end() || it->second != value) return false;
  }
  return true;
}

bool id_matches(const std::string& id, const std::string& wanted) {
  return wanted.empty() || id.compare(0, wanted.size(), wanted) == 0;
}

}  // namespace hanok::cri
