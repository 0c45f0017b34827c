#include "container_checkpoint.hpp"

#include <spdlog/spdlog.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "call_context.hpp"
#include "cri/runtime_service.hpp"
#include "criu_support.hpp"
#include "images/layer_diff.hpp"
#include "isolate/clock.hpp"
#include "isolate/error.hpp"
#include "isolate/files.hpp"

namespace hanok::cri {

using isolate::Error;
using isolate::ErrorKind;

namespace {

// A scratch directory removed when it goes.
class ScratchDir {
 public:
  explicit ScratchDir(std::string path) : path_(std::move(path)) {
    isolate::make_dirs(path_, 0700);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  ~ScratchDir() {
    try {
      isolate::remove_tree(path_);
    } catch (const std::exception& e) {
      spdlog::warn("remove {}: {}", path_, e.what());
    }
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The archive's location: absolute, in an existing directory.
void check_location(const std::string& location, const std::string& field) {
  if (location.empty() || location[0] != '/') {
    throw Error(ErrorKind::Invalid,
                field + ": must be an absolute path (got \"" + location + "\")");
  }
  std::string parent = location.substr(0, location.rfind('/'));
  struct stat st {};
  if (::stat(parent.empty() ? "/" : parent.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    throw Error(ErrorKind::Invalid, field + ": directory " + parent + " does not exist");
  }
}

}  // namespace

std::chrono::seconds checkpoint_timeout(int64_t timeout, const std::string& field) {
  if (timeout < 0) throw Error(ErrorKind::Invalid, field + ": must not be negative");
  return timeout == 0 ? kDefaultCheckpointTimeout : std::chrono::seconds(timeout);
}

PausedContainers::~PausedContainers() {
  try {
    resume_all();
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
  }
}

void PausedContainers::pause(const std::string& id) {
  paused_.push_back(id);  // before: a pause cut short may have frozen it
  core_.runtime().run({"pause", id});
}

void PausedContainers::resume_all() {
  std::string failed;
  for (const auto& id : paused_) {
    try {
      if (core_.runtime().status(id) == "paused") core_.runtime().run({"resume", id});
    } catch (const std::exception& e) {
      failed += (failed.empty() ? "" : "; ") + id + ": " + e.what();
    }
  }
  paused_.clear();
  if (!failed.empty()) {
    throw Error(ErrorKind::Internal, "resume after the checkpoint failed, left paused: " + failed);
  }
}

void write_checkpoint_archive(RuntimeCore& core, const store::ContainerRecord& record,
                              const std::string& archive, const std::string& scratch_parent,
                              std::chrono::seconds timeout, const images::StopToken& stop) {
  const std::string& id = record.id();
  if (record.config().tty()) {
    throw Error(ErrorKind::WrongState,
                "container " + id + " has a tty: hanok cannot checkpoint a container with one");
  }
  ScratchDir work(scratch_parent + "/.checkpoint-" + new_id());
  core.runtime().checkpoint(id, work.path(), timeout, stop);

  nlohmann::json config = {
      {"id", id},
      {"name", record.config().metadata().name()},
      {"rootfsImage", record.config().image().image()},
      {"rootfsImageRef", record.image_id()},
      {"rootfsImageName", record.image_name()},
      {"runtime", "hanok"},
      {"createdTime", isolate::rfc3339_of(record.created_at())},
      {"checkpointedTime", isolate::rfc3339_now()},
  };
  isolate::write_file_atomic(work.path() + "/" + kCheckpointConfigFile, config.dump(), 0600);
  isolate::write_file_atomic(work.path() + "/" + kCheckpointSpecFile,
                             isolate::read_file(record.bundle() + "/config.json"), 0600);
  auto diff = images::write_layer_diff(core.images().snapshots().container_upper_dir(id),
                                       work.path() + "/" + kRootfsDiffFile);
  isolate::write_file_atomic(work.path() + "/" + kDeletedFilesFile,
                             nlohmann::json(diff.deleted).dump(), 0600);
  core.checkpoint_signer().sign(work.path());  // what restores check it against
  stop.check("checkpoint container " + id);

  std::string partial = archive + ".part-" + new_id();
  try {
    images::write_layer_diff(work.path(), partial);
    if (::rename(partial.c_str(), archive.c_str()) != 0) isolate::throw_sys("rename to", archive);
  } catch (...) {
    ::unlink(partial.c_str());
    throw;
  }
}

grpc::Status RuntimeService::CheckpointContainer(
    grpc::ServerContext* context, const runtime::v1::CheckpointContainerRequest* request,
    runtime::v1::CheckpointContainerResponse*) {
  return logged_call("CheckpointContainer", request->container_id(), [&] {
    check_location(request->location(), "location");
    auto timeout = checkpoint_timeout(request->timeout(), "timeout");
    auto stop = stop_token_for(context, core_.stopping());
    std::string id = core_.resolve_container(request->container_id());
    IdLock lock = core_.locks().lock(id);
    auto container = core_.find_container(id);
    if (!container) throw Error(ErrorKind::NotFound, "container " + id + " not found");
    if (container->state() != runtime::v1::CONTAINER_RUNNING) {
      throw Error(ErrorKind::WrongState, "container " + id + " is not running");
    }
    require_criu("checkpoint container " + id);
    {
      // Its processes and its files as of one moment; the scratch files on the archive's disk.
      PausedContainers paused(core_);
      paused.pause(id);
      const std::string& location = request->location();
      write_checkpoint_archive(core_, *container, location,
                               location.substr(0, std::max<size_t>(location.rfind('/'), 1)),
                               timeout, stop);
      paused.resume_all();
    }
    spdlog::info("container {} checkpointed to {}", id, request->location());
    return grpc::Status::OK;
  });
}

}  // namespace hanok::cri
