// Private to cri/: a container's checkpoint archive, as CheckpointContainer writes it and
// CheckpointPod writes one per container; RestorePod (through create_container) reads it back.
//
// The archive is an uncompressed tar, laid out as CRI-O's and containerd's:
//   checkpoint/       CRIU's images (and hanok's descriptors.json, external mounts)
//   config.dump       JSON: id, name, rootfsImage, rootfsImageRef (the image id),
//                     rootfsImageName, runtime, createdTime, checkpointedTime
//   spec.dump         the container's OCI config.json
//   rootfs-diff.tar   its writable layer as an OCI layer (whiteouts as .wh. entries)
//   deleted.files     JSON list of the paths that layer deletes
//   dump.log          CRIU's log
#pragma once

#include <chrono>
#include <string>

#include "checkpoint_signature.hpp"
#include "images/image_store.hpp"
#include "images/stop_token.hpp"
#include "runtime_cli.hpp"
#include "store.pb.h"

namespace hanok::cri {

inline constexpr const char* kCheckpointConfigFile = "config.dump";
inline constexpr const char* kCheckpointSpecFile = "spec.dump";
inline constexpr const char* kRootfsDiffFile = "rootfs-diff.tar";
inline constexpr const char* kDeletedFilesFile = "deleted.files";

// The timeout a request's 0 means.
inline constexpr std::chrono::seconds kDefaultCheckpointTimeout{300};

// What writing an archive takes: the OCI runtime (its checkpoint), the image store (the
// container's writable layer) and the node's signer.
struct CheckpointTools {
  const RuntimeCli& runtime;
  images::ImageStore& images;
  const CheckpointSigner& signer;
};

// Checkpoints the running container `record` (already checked to be running, its lock held by
// the caller, and paused by the caller) into a new archive at `archive` (written beside it and
// renamed: never half there), its scratch files (CRIU's images) in a directory made and removed
// under `scratch_parent`. The container keeps running. Throws on failure, leaving no archive and
// no scratch files.
void write_checkpoint_archive(const CheckpointTools& tools, const store::ContainerRecord& record,
                              const std::string& archive, const std::string& scratch_parent,
                              std::chrono::seconds timeout, const images::StopToken& stop);

// Pauses containers (hanok pause) and resumes them all: by resume_all(), which says whether one
// could not be resumed, or when it goes, whatever happened.
class PausedContainers {
 public:
  explicit PausedContainers(const RuntimeCli& runtime) : runtime_(runtime) {}
  PausedContainers(const PausedContainers&) = delete;
  PausedContainers& operator=(const PausedContainers&) = delete;
  ~PausedContainers();
  void pause(const std::string& id);
  // Throws Error(Internal) naming the containers left paused.
  void resume_all();

 private:
  const RuntimeCli& runtime_;
  std::vector<std::string> paused_;  // asked to pause (a pause that failed half way included)
};

// Checks a checkpoint's `timeout` field (seconds, 0: the default).
std::chrono::seconds checkpoint_timeout(int64_t timeout, const std::string& field);

}  // namespace hanok::cri
