#include "container_create.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "call_context.hpp"
#include "checkpoint_archive.hpp"
#include "container_resources.hpp"
#include "container_spec.hpp"
#include "cri/runtime_service.hpp"
#include "images/unpack.hpp"
#include "isolate/cgroup.hpp"
#include "isolate/clock.hpp"
#include "isolate/error.hpp"
#include "isolate/files.hpp"
#include "isolate/pinned_namespace.hpp"
#include "isolate/process.hpp"
#include "isolate/text.hpp"
#include "monitor_start.hpp"
#include "pod_resources.hpp"
#include "runtime_core.hpp"
#include "unserved_fields.hpp"

namespace hanok::cri {

using isolate::Error;
using isolate::ErrorKind;

namespace {

// Pins the PID namespace of `target_id`, a running container of the same pod, into the bundle
// (a TARGET pid mode joins it): the pid is checked, through a pidfd held across the pin, to be a
// process in the target's cgroup, so a recycled pid never gives another process's namespace.
std::string pin_target_pid_namespace(RuntimeCore& core, const store::PodRecord& pod,
                                     const std::string& target_id, const std::string& bundle) {
  const std::string field = "config.linux.security_context.namespace_options.target_id";
  if (target_id.empty()) throw Error(ErrorKind::Invalid, field + ": must be set for TARGET");
  std::string id = core.resolve_container(target_id);
  IdLock lock = core.locks().lock(id);
  auto target = core.find_container(id);
  if (!target || target->pod_id() != pod.id()) {
    throw Error(ErrorKind::Invalid, field + ": " + target_id + " is not in this pod");
  }
  if (target->state() != runtime::v1::CONTAINER_RUNNING || target->pid() <= 0) {
    throw Error(ErrorKind::WrongState, field + ": " + target_id + " is not running");
  }
  isolate::UniqueFd process = isolate::open_pidfd(target->pid());
  if (!isolate::cgroup::process_in_cgroup(target->pid(), target->cgroup_path())) {
    throw Error(ErrorKind::WrongState, field + ": " + target_id + " is not running");
  }
  std::string pin = bundle + "/" + kTargetPidNamespace;
  isolate::pin_namespace("/proc/" + std::to_string(target->pid()) + "/ns/pid", pin);
  if (isolate::wait_pidfd_exit(process.get(), 0)) {
    isolate::unpin_namespace(pin);
    throw Error(ErrorKind::WrongState, field + ": " + target_id + " is not running");
  }
  return pin;
}

void validate(const runtime::v1::ContainerConfig& config) {
  if (!config.has_metadata() || config.metadata().name().empty()) {
    throw Error(ErrorKind::Invalid, "config.metadata.name: must not be empty");
  }
  if (config.image().image().empty()) {
    throw Error(ErrorKind::Invalid, "config.image.image: must not be empty");
  }
  if (!config.log_path().empty() && config.log_path()[0] == '/') {
    throw Error(ErrorKind::Invalid, "config.log_path: must be relative to the pod's log_directory");
  }
  for (std::string_view part : isolate::split(config.log_path(), "/")) {
    if (part == "..") throw Error(ErrorKind::Invalid, "config.log_path: must not contain \"..\"");
  }
}

// Throws Error(Invalid) naming `field` when anything below `dir` is neither a regular file nor
// a directory.
void refuse_special_files(const std::string& dir, const std::string& field) {
  std::error_code error;
  auto options = std::filesystem::directory_options::none;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, options, error);
       !error && it != std::filesystem::recursive_directory_iterator(); it.increment(error)) {
    auto status = it->symlink_status(error);
    if (error) break;
    if (status.type() != std::filesystem::file_type::regular &&
        status.type() != std::filesystem::file_type::directory) {
      throw Error(ErrorKind::Invalid, field + ": the checkpoint archive holds " +
                                          it->path().lexically_relative(dir).string() +
                                          ", which is not a regular file or directory");
    }
  }
  if (error)
    throw Error(ErrorKind::Internal, "read the checkpoint in " + dir + ": " + error.message());
}

// The process the config describes must be the checkpointed one (RestorePod: "any mismatch the
// runtime can validate must fail the restore"): its arguments, working directory, user and
// environment, as the OCI spec the checkpoint keeps has them.
void check_process_matches(const nlohmann::json& spec, const std::string& dir,
                           const runtime::v1::ContainerConfig& config) {
  auto dumped = nlohmann::json::parse(
      isolate::read_file_if_exists(dir + "/" + kCheckpointSpecFile).value_or(""), nullptr, false);
  std::string field = "container_configs[" + config.metadata().name() + "]";
  if (!dumped.is_object() || !dumped.contains("process")) {
    throw Error(ErrorKind::Invalid, field + ": the checkpoint has no spec.dump");
  }
  const auto& was = dumped["process"];
  const auto& now = spec["process"];
  auto sorted_env = [](const nlohmann::json& process) {
    std::vector<std::string> env;
    if (process.contains("env") && process["env"].is_array()) {
      for (const auto& item : process["env"]) {
        if (item.is_string()) env.push_back(item.get<std::string>());
      }
    }
    std::sort(env.begin(), env.end());
    return env;
  };
  auto shown = [](const nlohmann::json& value) {
    std::string text = value.dump();
    return text.size() > 200 ? text.substr(0, 200) + "..." : text;
  };
  auto differs = [&](const char* what, const nlohmann::json& a, const nlohmann::json& b) {
    if (a == b) return;
    throw Error(ErrorKind::Invalid, field + ": its " + what + " (" + shown(b) +
                                        ") is not the checkpointed process's (" + shown(a) + ")");
  };
  differs("command and args", was.value("args", nlohmann::json()),
          now.value("args", nlohmann::json()));
  differs("working_dir", was.value("cwd", nlohmann::json()), now.value("cwd", nlohmann::json()));
  differs("user", was.value("user", nlohmann::json()), now.value("user", nlohmann::json()));
  differs("envs", sorted_env(was), sorted_env(now));
  // CRIU gives the process back its credentials, capabilities and seccomp filter as they were:
  // the config must ask for the same confinement, or it would not be what the container has.
  auto at = [](const nlohmann::json& doc, const nlohmann::json::json_pointer& where) {
    return doc.contains(where) ? doc.at(where) : nlohmann::json();
  };
  using Pointer = nlohmann::json::json_pointer;
  for (const auto& [what, where] : std::vector<std::pair<const char*, Pointer>>{
           {"capabilities", Pointer("/process/capabilities")},
           {"no_new_privs", Pointer("/process/noNewPrivileges")},
           {"seccomp profile", Pointer("/linux/seccomp")},
           {"masked_paths", Pointer("/linux/maskedPaths")},
           {"readonly_paths", Pointer("/linux/readonlyPaths")},
           {"readonly_rootfs", Pointer("/root/readonly")},
           {"devices", Pointer("/linux/devices")}}) {
    differs(what, at(dumped, where), at(spec, where));
  }
}

// A checkpoint archive (CheckpointContainer's, or one of CheckpointPod's) unpacked into `dir`
// (inside every path, as an image layer is); the image it was taken from must be the one the
// config names. Returns its rootfs diff.
std::string unpack_checkpoint(const RuntimeCore& core, const std::string& archive,
                              const std::string& dir, const images::ImageInfo& image,
                              const runtime::v1::ContainerConfig& config) {
  isolate::make_dirs(dir, 0700);
  images::unpack_layer(archive, images::Compression::None, dir);
  // Only files and directories: a link in a hostile archive must not make what is read below
  // (or by criu) something of the host's or of another container's.
  std::string field = "container_configs[" + config.metadata().name() + "]";
  refuse_special_files(dir, field);
  // CRIU restores as root what the archive says: only what this node wrote, as it wrote it.
  if (core.config().restore_unsigned_checkpoints) {
    spdlog::warn("restoring {} without checking its signature (restore_unsigned_checkpoints)",
                 archive);
  } else {
    core.checkpoint_signer().verify(dir, field);
  }
  auto dump =
      nlohmann::json::parse(isolate::read_file(dir + "/" + kCheckpointConfigFile), nullptr, false);
  std::string taken_from = dump.is_object() ? dump.value("rootfsImageRef", "") : "";
  if (taken_from != image.id) {
    throw Error(ErrorKind::Invalid, field + ".image: the checkpoint was taken from image " +
                                        (taken_from.empty() ? "(unknown)" : taken_from) + ", not " +
                                        image.id);
  }
  return dir + "/" + kRootfsDiffFile;
}

}  // namespace

std::string create_container(RuntimeCore& core, const images::StopToken& stop,
                             const std::string& pod_sandbox_id,
                             const runtime::v1::ContainerConfig& config,
                             const std::string& checkpoint_archive) {
  validate(config);
  refuse_unserved(config);
  std::string pod_id = core.resolve_pod(pod_sandbox_id);
  // The pod stays as it is (ready, its namespaces pinned) until the container is recorded:
  // StopPodSandbox and RemovePodSandbox take this lock too.
  IdLock pod_lock = core.locks().lock(pod_id);
  auto pod = core.find_pod(pod_id);
  if (!pod) throw Error(ErrorKind::NotFound, "pod sandbox " + pod_id + " not found");
  if (pod->state() != runtime::v1::SANDBOX_READY) {
    throw Error(ErrorKind::WrongState, "pod sandbox " + pod_id + " is not ready");
  }

  store::ContainerRecord record;
  record.set_id(new_id());
  const std::string& id = record.id();
  std::string name = container_name_key(config.metadata(), pod->config().metadata());
  std::string holder = core.container_names().reserve(name, id);
  if (!holder.empty()) {
    throw Error(ErrorKind::AlreadyExists,
                "container name \"" + name + "\" is reserved for " + holder);
  }
  IdLock lock = core.locks().lock(id);
  try {
    // Found and leased at once: a RemoveImage cannot take its layers in between.
    auto image = core.images().lease_image(config.image().image(), container_lease(id));
    if (!image) {
      throw Error(ErrorKind::NotFound, "image \"" + config.image().image() + "\" not found");
    }
    record.set_pod_id(pod_id);
    *record.mutable_config() = config;
    record.set_state(runtime::v1::CONTAINER_CREATED);
    record.set_image_id(image->id);
    record.set_image_name(image->repo_tags.empty() ? config.image().image() : image->repo_tags[0]);
    record.set_image_ref(image->repo_digests.empty() ? image->id : image->repo_digests[0]);
    record.set_bundle(core.bundle_dir(id));
    if (!pod->config().log_directory().empty() && !config.log_path().empty()) {
      record.set_log_path(pod->config().log_directory() + "/" + config.log_path());
    }
    if (config.linux().has_resources()) *record.mutable_resources() = config.linux().resources();
    CgroupPlacement cgroup = container_cgroup(*pod, id);
    record.set_cgroups_path(cgroup.cgroups_path);
    record.set_cgroup_path(cgroup.path);
    record.set_systemd_cgroup(cgroup.systemd);

    isolate::make_dirs(record.bundle(), 0700);
    std::string rootfs_diff;
    if (!checkpoint_archive.empty()) {
      record.set_restore_from(core.restore_dir(id));
      rootfs_diff =
          unpack_checkpoint(core, checkpoint_archive, record.restore_from(), *image, config);
    }
    auto rootfs =
        core.images().snapshots().prepare_container_rootfs(id, image->chain_ids, rootfs_diff);
    isolate::UniqueFd rootfs_fd(::open(rootfs.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!rootfs_fd) isolate::throw_sys("open the rootfs", rootfs.rootfs);

    ContainerSpecInputs inputs;
    inputs.id = id;
    inputs.pod = &*pod;
    inputs.config = &config;
    inputs.image = &*image;
    inputs.image_name = record.image_name();
    inputs.rootfs = rootfs.rootfs;
    inputs.rootfs_fd = rootfs_fd.get();
    inputs.cgroups_path = cgroup.cgroups_path;
    inputs.cgroup_v2 = isolate::cgroup::detect_mode() == isolate::cgroup::Mode::Unified;
    const auto& namespaces = config.linux().security_context().namespace_options();
    if (namespaces.pid() == runtime::v1::TARGET) {
      inputs.target_pid_namespace =
          pin_target_pid_namespace(core, *pod, namespaces.target_id(), record.bundle());
    }
    ContainerSpec spec = build_container_spec(inputs);
    if (!checkpoint_archive.empty())
      check_process_matches(spec.config, record.restore_from(), config);
    record.set_stop_signal(spec.stop_signal);
    auto* user = record.mutable_user()->mutable_linux();
    user->set_uid(spec.config["process"]["user"]["uid"].get<int64_t>());
    user->set_gid(spec.config["process"]["user"]["gid"].get<int64_t>());
    for (const auto& gid : spec.config["process"]["user"]["additionalGids"]) {
      user->add_supplemental_groups(gid.get<int64_t>());
    }
    isolate::write_file_atomic(record.bundle() + "/config.json", spec.config.dump(), 0600);
    if (!record.log_path().empty()) {
      std::error_code error;
      std::filesystem::create_directories(std::filesystem::path(record.log_path()).parent_path(),
                                          error);
    }
    stop.check("create container " + id);
    if (checkpoint_archive.empty()) {
      StartedMonitor started = start_monitor(core, record, stop);
      record.set_pid(started.init);
      record.set_monitor_pid(started.monitor);
    }
    record.set_created_at(isolate::unix_now_ns());
    stop.check("create container " + id);
    core.save(record);
    if (checkpoint_archive.empty()) core.watch_monitor(record);
  } catch (...) {
    release_container_resources(core, id);
    core.container_names().release(name, id);
    core.locks().forget(id);
    throw;
  }
  spdlog::info("container {} ({}) created in pod {}", id, config.metadata().name(), pod_id);
  core.publish(runtime::v1::CONTAINER_CREATED_EVENT, record);
  return id;
}

grpc::Status RuntimeService::CreateContainer(grpc::ServerContext* context,
                                             const runtime::v1::CreateContainerRequest* request,
                                             runtime::v1::CreateContainerResponse* response) {
  const auto& config = request->config();
  return logged_call("CreateContainer", config.metadata().name(), [&] {
    response->set_container_id(create_container(core_, stop_token_for(context, core_.stopping()),
                                                request->pod_sandbox_id(), config));
    return grpc::Status::OK;
  });
}

}  // namespace hanok::cri
