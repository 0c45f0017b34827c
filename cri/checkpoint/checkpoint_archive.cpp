#include "checkpoint_archive.hpp"

#include <spdlog/spdlog.h>
#include <stdio.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "images/layer_diff.hpp"
#include "isolate/clock.hpp"
#include "isolate/error.hpp"
#include "isolate/files.hpp"
#include "name_registry.hpp"

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
  runtime_.run({"pause", id});
}

void PausedContainers::resume_all() {
  std::string failed;
  for (const auto& id : paused_) {
    try {
      if (runtime_.status(id) == "paused") runtime_.run({"resume", id});
    } catch (const std::exception& e) {
      failed += (failed.empty() ? "" : "; ") + id + ": " + e.what();
    }
  }
  paused_.clear();
  if (!failed.empty()) {
    throw Error(ErrorKind::Internal, "resume after the checkpoint failed, left paused: " + failed);
  }
}

void write_checkpoint_archive(const CheckpointTools& tools, const store::ContainerRecord& record,
                              const std::string& archive, const std::string& scratch_parent,
                              std::chrono::seconds timeout, const images::StopToken& stop) {
  const std::string& id = record.id();
  if (record.config().tty()) {
    throw Error(ErrorKind::WrongState,
                "container " + id + " has a tty: hanok cannot checkpoint a container with one");
  }
  ScratchDir work(scratch_parent + "/.checkpoint-" + new_id());
  tools.runtime.checkpoint(id, work.path(), timeout, stop);

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
  auto diff = images::write_layer_diff(tools.images.snapshots().container_upper_dir(id),
                                       work.path() + "/" + kRootfsDiffFile);
  isolate::write_file_atomic(work.path() + "/" + kDeletedFilesFile,
                             nlohmann::json(diff.deleted).dump(), 0600);
  tools.signer.sign(work.path());  // what restores check it against
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

}  // namespace hanok::cri
