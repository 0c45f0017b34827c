#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <filesystem>

#include "call_context.hpp"
#include "container_resources.hpp"
#include "container_spec.hpp"
#include "cri/runtime_service.hpp"
#include "isolate/cgroup.hpp"
#include "isolate/error.hpp"
#include "isolate/files.hpp"
#include "isolate/spawn.hpp"
#include "isolate/text.hpp"
#include "monitor.hpp"
#include "runtime_core.hpp"

namespace hanok::cri {

using isolate::Error;
using isolate::ErrorKind;

namespace {

struct CgroupPlacement {
  std::string cgroups_path;  // linux.cgroupsPath
  std::string path;          // below the hierarchy root
  bool systemd = false;
};

// As containerd: a parent named like a systemd slice gets "slice:hanok:<id>", any other parent
// "<parent>/<id>".
CgroupPlacement place_cgroup(const store::PodRecord& pod, const std::string& id) {
  const std::string& parent = pod.cgroup_parent();
  std::string base = parent.substr(parent.rfind('/') + 1);
  CgroupPlacement placement;
  if (base.size() > 6 && base.compare(base.size() - 6, 6, ".slice") == 0) {
    placement.cgroups_path = base + ":hanok:" + id;
    placement.path = isolate::cgroup::systemd_cgroup_path(placement.cgroups_path);
    placement.systemd = true;
  } else {
    placement.cgroups_path = parent + "/" + id;
    placement.path = placement.cgroups_path;
  }
  return placement;
}

// The pid namespace of the running container `target_id` of the same pod.
std::string target_pid_namespace(RuntimeCore& core, const store::PodRecord& pod,
                                 const std::string& target_id) {
  const char* field = "config.linux.security_context.namespace_options.target_id";
  if (target_id.empty())
    throw Error(ErrorKind::Invalid, std::string(field) + ": must be set for TARGET");
  auto target = core.find_container(core.resolve_container(target_id));
  if (!target || target->pod_id() != pod.id()) {
    throw Error(ErrorKind::Invalid, std::string(field) + ": " + target_id + " is not in this pod");
  }
  if (target->state() != runtime::v1::CONTAINER_RUNNING || target->pid() <= 0) {
    throw Error(ErrorKind::WrongState, std::string(field) + ": " + target_id + " is not running");
  }
  return "/proc/" + std::to_string(target->pid()) + "/ns/pid";
}

struct MonitorReport {
  pid_t monitor = 0;
  pid_t init = 0;
};

// Starts the container's monitor and waits until `hanok create` under it has finished.
MonitorReport start_monitor(RuntimeCore& core, const store::ContainerRecord& record,
                            const runtime::v1::ContainerConfig& config) {
  monitor::MonitorOptions options;
  options.id = record.id();
  options.bundle = record.bundle();
  options.runtime = core.runtime().binary();
  options.runtime_root = core.runtime().root();
  options.systemd_cgroup = record.systemd_cgroup();
  options.log_path = record.log_path();
  options.exit_file = core.exit_file(record.id());
  options.stdin_open = config.stdin();
  options.tty = config.tty();
  options.sync_fd = 3;

  int sync[2];
  if (::pipe2(sync, O_CLOEXEC) != 0) isolate::throw_sys("pipe for the monitor");
  isolate::UniqueFd read_end(sync[0]);
  isolate::UniqueFd write_end(sync[1]);
  isolate::SpawnRequest request;
  request.argv = {core.helpers().monitor, "container"};
  for (auto& flag : monitor::monitor_flags(options)) request.argv.push_back(std::move(flag));
  request.pass_fds = {write_end.get()};
  pid_t first = isolate::spawn_program(request);
  write_end.reset();
  // The first process forks the monitor and ends at once.
  isolate::wait_program(first);

  MonitorReport report;
  std::string text;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(2);
  for (;;) {
    size_t newline;
    while ((newline = text.find('\n')) != std::string::npos) {
      std::string line = text.substr(0, newline);
      text.erase(0, newline + 1);
      if (line.empty()) continue;
      if (line[0] == 'M') {
        report.monitor = static_cast<pid_t>(isolate::parse_i64(line.substr(1)).value_or(0));
      } else if (line[0] == 'C') {
        report.init = static_cast<pid_t>(isolate::parse_i64(line.substr(1)).value_or(0));
        return report;
      } else if (line[0] == 'E') {
        throw Error(ErrorKind::Internal, "create the container: " + line.substr(1));
      }
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0)
      throw Error(ErrorKind::Internal, "the container's monitor did not answer in 2 min");
    pollfd p{read_end.get(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) < 0 && errno != EINTR) {
      isolate::throw_sys("wait for the monitor");
    }
    char buffer[4096];
    ssize_t n = ::read(read_end.get(), buffer, sizeof buffer);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) throw Error(ErrorKind::Internal, "the container's monitor ended without a report");
    text.append(buffer, static_cast<size_t>(n));
  }
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

}  // namespace

grpc::Status RuntimeService::CreateContainer(grpc::ServerContext* context,
                                             const runtime::v1::CreateContainerRequest* request,
                                             runtime::v1::CreateContainerResponse* response) {
  const auto& config = request->config();
  return logged_call("CreateContainer", config.metadata().name(), [&] {
    validate(config);
    auto stop = stop_token_for(context, core_.stopping());
    std::string pod_id = core_.resolve_pod(request->pod_sandbox_id());
    auto pod = core_.find_pod(pod_id);
    if (!pod) throw Error(ErrorKind::NotFound, "pod sandbox " + pod_id + " not found");
    if (pod->state() != runtime::v1::SANDBOX_READY) {
      throw Error(ErrorKind::WrongState, "pod sandbox " + pod_id + " is not ready");
    }
    auto image = core_.images().find(config.image().image());
    if (!image) {
      throw Error(ErrorKind::NotFound, "image \"" + config.image().image() + "\" not found");
    }

    store::ContainerRecord record;
    record.set_id(new_id());
    const std::string& id = record.id();
    std::string name = container_name_key(config.metadata(), pod->config().metadata());
    std::string holder = core_.container_names().reserve(name, id);
    if (!holder.empty()) {
      throw Error(ErrorKind::AlreadyExists,
                  "container name \"" + name + "\" is reserved for " + holder);
    }
    IdLock lock = core_.locks().lock(id);
    record.set_pod_id(pod_id);
    *record.mutable_config() = config;
    record.set_state(runtime::v1::CONTAINER_CREATED);
    record.set_image_id(image->id);
    record.set_image_name(image->repo_tags.empty() ? config.image().image() : image->repo_tags[0]);
    record.set_image_ref(image->repo_digests.empty() ? image->id : image->repo_digests[0]);
    record.set_bundle(core_.bundle_dir(id));
    if (!pod->config().log_directory().empty() && !config.log_path().empty()) {
      record.set_log_path(pod->config().log_directory() + "/" + config.log_path());
    }
    if (config.linux().has_resources()) *record.mutable_resources() = config.linux().resources();
    CgroupPlacement cgroup = place_cgroup(*pod, id);
    record.set_cgroups_path(cgroup.cgroups_path);
    record.set_cgroup_path(cgroup.path);
    record.set_systemd_cgroup(cgroup.systemd);
    try {
      isolate::make_dirs(record.bundle(), 0700);
      core_.images().lease_snapshots(container_lease(id), image->chain_ids);
      auto rootfs = core_.images().snapshots().prepare_container_rootfs(id, image->chain_ids);
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
      if (config.linux().security_context().namespace_options().pid() == runtime::v1::TARGET) {
        inputs.target_pid_namespace = target_pid_namespace(
            core_, *pod, config.linux().security_context().namespace_options().target_id());
      }
      ContainerSpec spec = build_container_spec(inputs);
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
      MonitorReport report = start_monitor(core_, record, config);
      record.set_pid(report.init);
      record.set_monitor_pid(report.monitor);
      record.set_created_at(now_ns());
      stop.check("create container " + id);
      core_.save(record);
    } catch (...) {
      release_container_resources(core_, id);
      core_.container_names().release(name, id);
      throw;
    }
    spdlog::info("container {} ({}) created in pod {}", id, config.metadata().name(), pod_id);
    core_.publish(runtime::v1::CONTAINER_CREATED_EVENT, record);
    response->set_container_id(id);
    return grpc::Status::OK;
  });
}

}  // namespace hanok::cri
