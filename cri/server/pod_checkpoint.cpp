// CheckpointPod: the selected running containers of a pod paused together, each checkpointed
// (CRIU, its rootfs diff) while all are paused, then all resumed: one consistent cut. Written
// under the caller's empty output directory:
//   pod.json           the pod's PodSandboxConfig (protobuf JSON) and the checkpoint's index:
//                      {"podSandboxConfig": {...}, "containers": [{"name", "id", "archive"}]}
//   container-<n>.tar  each container's checkpoint archive (see checkpoint_archive.hpp)
// RestorePod reads it back.
#include <dirent.h>
#include <google/protobuf/util/json_util.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "call_context.hpp"
#include "checkpoint_archive.hpp"
#include "cri/runtime_service.hpp"
#include "criu_support.hpp"
#include "isolate/error.hpp"
#include "isolate/files.hpp"
#include "pod_checkpoint_layout.hpp"
#include "runtime_core.hpp"

namespace hanok::cri {

using isolate::Error;
using isolate::ErrorKind;

namespace {

void check_output_dir(const std::string& path) {
  struct stat st {};
  if (path.empty() || path[0] != '/') {
    throw Error(ErrorKind::Invalid, "output_path: must be an absolute path (got \"" + path + "\")");
  }
  if (::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    throw Error(ErrorKind::Invalid, "output_path: " + path + " is not an existing directory");
  }
  if (!isolate::list_dir(path).empty()) {
    throw Error(ErrorKind::Invalid, "output_path: " + path + " is not empty");
  }
}

// Removes what this call wrote under the output directory (never the directory itself) unless
// it succeeded.
class OutputCleanup {
 public:
  explicit OutputCleanup(std::string dir) : dir_(std::move(dir)) {}
  OutputCleanup(const OutputCleanup&) = delete;
  OutputCleanup& operator=(const OutputCleanup&) = delete;
  ~OutputCleanup() {
    if (done_) return;
    for (const auto& name : isolate::list_dir(dir_)) {
      try {
        isolate::remove_tree(dir_ + "/" + name);
      } catch (const std::exception& e) {
        spdlog::warn("remove a partial pod checkpoint: {}", e.what());
      }
    }
  }
  void done() { done_ = true; }

 private:
  std::string dir_;
  bool done_ = false;
};

}  // namespace

grpc::Status RuntimeService::CheckpointPod(grpc::ServerContext* context,
                                           const runtime::v1::CheckpointPodRequest* request,
                                           runtime::v1::CheckpointPodResponse*) {
  return logged_call("CheckpointPod", request->pod_sandbox_id(), [&] {
    if (!request->options().empty()) {
      throw Error(ErrorKind::Invalid, "options: hanok takes no checkpoint options (got \"" +
                                          request->options().begin()->first + "\")");
    }
    require_deadline(context, "CheckpointPod");
    check_output_dir(request->output_path());
    if (request->container_ids().empty()) {
      throw Error(ErrorKind::Invalid, "container_ids: must not be empty");
    }
    auto stop = stop_token_for(context, core_.stopping());
    std::string pod_id = core_.resolve_pod(request->pod_sandbox_id());
    IdLock pod_lock = core_.locks().lock(pod_id);
    auto pod = core_.find_pod(pod_id);
    if (!pod) throw Error(ErrorKind::NotFound, "pod sandbox " + pod_id + " not found");
    if (pod->state() != runtime::v1::SANDBOX_READY) {
      throw Error(ErrorKind::WrongState, "pod sandbox " + pod_id + " is not ready");
    }
    std::set<std::string> ids;
    for (const auto& given : request->container_ids()) {
      std::string id = core_.resolve_container(given);
      if (!ids.insert(id).second) {
        throw Error(ErrorKind::Invalid, "container_ids: " + given + " is listed twice");
      }
    }
    // In id order, after the pod's lock, as every other call takes them.
    std::vector<IdLock> locks;
    std::vector<store::ContainerRecord> containers;
    for (const auto& id : ids) {
      locks.push_back(core_.locks().lock(id));
      auto container = core_.find_container(id);
      if (!container || container->pod_id() != pod_id) {
        throw Error(ErrorKind::Invalid, std::string("container_ids: ")
                                            .append(id)
                                            .append(" is not a container of pod ")
                                            .append(pod_id));
      }
      if (container->state() != runtime::v1::CONTAINER_RUNNING) {
        throw Error(ErrorKind::WrongState, "container_ids: " + id + " is not running");
      }
      containers.push_back(*container);
    }
    require_criu("checkpoint pod " + pod_id);
    auto timeout = std::max(std::chrono::duration_cast<std::chrono::seconds>(
                                context->deadline() - std::chrono::system_clock::now()),
                            std::chrono::seconds(1));

    OutputCleanup cleanup(request->output_path());
    nlohmann::json index = nlohmann::json::array();
    {
      PausedContainers paused(core_.runtime());
      for (const auto& container : containers) paused.pause(container.id());
      for (size_t i = 0; i < containers.size(); ++i) {
        std::string archive = "container-" + std::to_string(i) + ".tar";
        write_checkpoint_archive(core_.checkpoint_tools(), containers[i],
                                 request->output_path() + "/" + archive, request->output_path(),
                                 timeout, stop);
        index.push_back({{"name", containers[i].config().metadata().name()},
                         {"id", containers[i].id()},
                         {"archive", archive}});
      }
      paused.resume_all();
    }
    std::string pod_config;
    auto converted = google::protobuf::util::MessageToJsonString(pod->config(), &pod_config);
    if (!converted.ok()) {
      throw Error(ErrorKind::Internal, "pod config as JSON: " + std::string(converted.message()));
    }
    nlohmann::json layout = {{kPodConfigKey, nlohmann::json::parse(pod_config)},
                             {kPodContainersKey, index}};
    isolate::write_file_atomic(request->output_path() + "/" + kPodCheckpointFile, layout.dump(),
                               0600);
    cleanup.done();
    spdlog::info("pod {}: {} containers checkpointed to {}", pod_id, containers.size(),
                 request->output_path());
    return grpc::Status::OK;
  });
}

}  // namespace hanok::cri
