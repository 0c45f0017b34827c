// RestorePod: a new pod sandbox from the request's config, and in it one created container per
// checkpointed one (matched by metadata name), its writable layer the checkpoint's and its
// process not yet there: StartContainer restores each. On any failure what the call made goes.
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "call_context.hpp"
#include "container_create.hpp"
#include "container_ops.hpp"
#include "cri/runtime_service.hpp"
#include "criu_support.hpp"
#include "isolate/error.hpp"
#include "isolate/files.hpp"
#include "pod_checkpoint_layout.hpp"

namespace hanok::cri {

using isolate::Error;
using isolate::ErrorKind;

namespace {

// The checkpoint's containers: metadata name -> its archive's path.
std::map<std::string, std::string> checkpointed_containers(const std::string& dir) {
  const std::string field = "checkpoint_path";
  struct stat st {};
  if (dir.empty() || dir[0] != '/' || ::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    throw Error(ErrorKind::Invalid, field + ": \"" + dir +
                                        "\" is not an absolute path of a "
                                        "directory");
  }
  auto text = isolate::read_file_if_exists(dir + "/" + kPodCheckpointFile);
  auto layout = nlohmann::json::parse(text.value_or(""), nullptr, false);
  if (!layout.is_object() || !layout.contains(kPodContainersKey) ||
      !layout[kPodContainersKey].is_array()) {
    throw Error(ErrorKind::Invalid, field + ": " + dir + " holds no pod checkpoint of hanok's (" +
                                        kPodCheckpointFile + ")");
  }
  auto malformed = [&](const std::string& why) {
    return Error(ErrorKind::Invalid, field + ": " + kPodCheckpointFile + ": " + why);
  };
  std::map<std::string, std::string> containers;
  for (const auto& entry : layout[kPodContainersKey]) {
    auto text = [&](const char* key) {
      if (!entry.is_object() || !entry.contains(key) || !entry[key].is_string()) {
        return std::string();
      }
      return entry[key].get<std::string>();
    };
    std::string name = text("name");
    std::string archive = text("archive");
    // Only a file right in the directory: a hostile index must not name one elsewhere.
    if (name.empty() || archive.empty() || archive.find('/') != std::string::npos ||
        archive[0] == '.') {
      throw malformed("a container entry is malformed");
    }
    std::string path = std::string(dir).append("/").append(archive);
    struct stat file {};
    if (::lstat(path.c_str(), &file) != 0 || !S_ISREG(file.st_mode)) {
      throw malformed(archive + " is not a regular file");
    }
    if (!containers.emplace(name, path).second) {
      throw malformed("\"" + name + "\" is there twice");
    }
  }
  return containers;
}

void check_configs(const runtime::v1::RestorePodRequest& request,
                   const std::map<std::string, std::string>& checkpointed) {
  if (request.container_configs().empty()) {
    throw Error(ErrorKind::Invalid, "container_configs: must not be empty");
  }
  std::set<std::string> names;
  for (const auto& config : request.container_configs()) {
    const std::string& name = config.metadata().name();
    if (name.empty())
      throw Error(ErrorKind::Invalid, "container_configs: a metadata.name is empty");
    if (!names.insert(name).second) {
      throw Error(ErrorKind::Invalid, "container_configs: \"" + name + "\" is given twice");
    }
    if (checkpointed.count(name) == 0) {
      throw Error(ErrorKind::Invalid,
                  "container_configs: \"" + name + "\" is not a container of the checkpoint");
    }
  }
  for (const auto& [name, archive] : checkpointed) {
    if (names.count(name) == 0) {
      throw Error(ErrorKind::Invalid,
                  "container_configs: the checkpoint's container \"" + name + "\" has no config");
    }
  }
}

}  // namespace

grpc::Status RuntimeService::RestorePod(grpc::ServerContext* context,
                                        const runtime::v1::RestorePodRequest* request,
                                        runtime::v1::RestorePodResponse* response) {
  return logged_call("RestorePod", request->config().metadata().name(), [&] {
    require_deadline(context, "RestorePod");
    if (!request->options().empty()) {
      throw Error(ErrorKind::Invalid, "options: hanok takes no restore options (got \"" +
                                          request->options().begin()->first + "\")");
    }
    auto checkpointed = checkpointed_containers(request->checkpoint_path());
    check_configs(*request, checkpointed);
    require_criu("restore pod");

    runtime::v1::RunPodSandboxRequest run;
    *run.mutable_config() = request->config();
    run.set_runtime_handler(request->runtime_handler());
    runtime::v1::RunPodSandboxResponse ran;
    grpc::Status status = RunPodSandbox(context, &run, &ran);
    if (!status.ok()) return status;
    const std::string& pod_id = ran.pod_sandbox_id();
    auto stop = stop_token_for(context, core_.stopping());
    std::vector<std::string> made;
    try {
      for (const auto& config : request->container_configs()) {
        made.push_back(
            create_container(core_, stop, pod_id, config, checkpointed[config.metadata().name()]));
        auto* restored = response->add_restored_containers();
        restored->set_name(config.metadata().name());
        restored->set_container_id(made.back());
      }
    } catch (...) {
      // Undone whatever the caller's deadline: a fresh context for the cleanup.
      for (const auto& id : made) {
        try {
          remove_container(core_, id, images::StopToken());
        } catch (const std::exception& e) {
          spdlog::warn("restore pod: remove container {}: {}", id, e.what());
        }
      }
      grpc::ServerContext cleanup;
      runtime::v1::StopPodSandboxRequest stop_pod;
      stop_pod.set_pod_sandbox_id(pod_id);
      runtime::v1::StopPodSandboxResponse stopped;
      grpc::Status undone = StopPodSandbox(&cleanup, &stop_pod, &stopped);
      if (!undone.ok()) {
        spdlog::error("restore pod: stop pod {} made by the failed call: {}", pod_id,
                      undone.error_message());
      }
      runtime::v1::RemovePodSandboxRequest remove_pod;
      remove_pod.set_pod_sandbox_id(pod_id);
      runtime::v1::RemovePodSandboxResponse removed;
      undone = RemovePodSandbox(&cleanup, &remove_pod, &removed);
      if (!undone.ok()) {
        spdlog::error("restore pod: remove pod {} made by the failed call: {}", pod_id,
                      undone.error_message());
      }
      throw;
    }
    response->set_pod_sandbox_id(pod_id);
    spdlog::info("pod {} restored from {} with {} containers", pod_id, request->checkpoint_path(),
                 made.size());
    return grpc::Status::OK;
  });
}

}  // namespace hanok::cri
