// Images on a node: pull (registry -> content store -> unpacked layer snapshots -> metadata),
// list, status, remove with garbage collection, and the space they use. What the CRI
// ImageService serves.
//
// Concurrency: pulls and removals run side by side. A pull holds a temporary lease on every blob
// and snapshot it touches (those it finds already there included) until its image is recorded;
// garbage collection never removes what an image references or a lease holds. Leases are taken
// under a shared lock that GC takes exclusively, so a lease and a collection never cross.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <vector>

#include "images/content_store.hpp"
#include "images/manifest.hpp"
#include "images/metadata_store.hpp"
#include "images/registry_client.hpp"
#include "images/snapshots.hpp"
#include "images/stop_token.hpp"

namespace hanok::images {

// overlayfs stacks at most this many lower layers (the kernel's OVL_MAX_STACK).
inline constexpr size_t kMaxLayers = 500;

struct ImageStoreOptions {
  size_t max_parallel_downloads = 3;  // layers of one pull fetched at once (containerd's default)
  Platform platform = host_platform();
  // Called as a pull goes ("layer <chain id>" when a layer is ready, "pulled <id>" at the end);
  // it may block, which holds the pull there (for tests of interleavings).
  std::function<void(const std::string& event)> on_event;
};

struct PullOptions {
  std::optional<Credentials> credentials;
  std::optional<Platform> platform;  // the store's when unset
  StopToken stop;                    // cancellation and deadline
};

struct ImageInfo {
  std::string id;  // the config digest
  std::vector<std::string> repo_tags;
  std::vector<std::string> repo_digests;
  uint64_t size = 0;              // manifest + config + layer blobs
  std::string config_json;        // the image config (user, entrypoint, cmd, env, ...)
  std::vector<Digest> chain_ids;  // bottom to top: the snapshots a rootfs is made of
};

struct FsUsage {
  std::string mountpoint;
  uint64_t used_bytes = 0;
  uint64_t inodes_used = 0;
};

class ImageStore {
 public:
  // <root>/blobs, <root>/ingest, <root>/snapshots, <root>/metadata.db. Repairs what a killed
  // process left (temporary leases, temp blobs, half-unpacked layers, files the database does
  // not know) when it opens. One ImageStore per root at a time (the daemon holds a lock on it).
  ImageStore(std::string root, RegistryClient& registry, ImageStoreOptions options = {});

  // Throws RegistryError, Stopped (cancelled or past its deadline), std::runtime_error.
  ImageInfo pull(const std::string& reference, const PullOptions& options = {});
  std::vector<ImageInfo> list();
  // By id (or unique id prefix), repo tag ("busybox" normalised) or repo digest.
  std::optional<ImageInfo> find(const std::string& name_or_id);
  // Removes the image and every blob and snapshot no other image and no lease needs. Returns
  // false when there was no such image.
  bool remove(const std::string& name_or_id);

  // A lease that outlives the process (a container's on its image's snapshots): GC keeps them
  // until release(), which removes the snapshots nothing else keeps (the layers of an image
  // removed while the lease held them). Leasing a chain id also keeps its parents.
  void lease_snapshots(const std::string& lease_id, const std::vector<Digest>& chain_ids);
  // find() and a lease on the image's snapshots in one step: no removal comes between.
  std::optional<ImageInfo> lease_image(const std::string& name_or_id, const std::string& lease_id);
  void release(const std::string& lease_id);

  // Space the images take (blobs and unpacked layers, as recorded when they were committed).
  FsUsage image_usage() const;

  SnapshotStore& snapshots() { return snapshots_; }
  const ContentStore& content() const { return content_; }

 private:
  class PullLease;
  void repair();
  // Under gc_mutex_ held exclusively: forgets the unreferenced layers and moves their trees to the
  // trash, which the caller purges once it let go of the lock.
  std::vector<std::string> collect_snapshots();
  void ensure_layer(const Reference& ref, const Descriptor& layer, const Digest& diff_id,
                    const Digest& chain, const std::string& parent, const PullOptions& options);
  ImageInfo info_of(const ImageRecord& record) const;
  std::mutex& chain_lock(const std::string& chain);
  void event(const std::string& what) const;

  std::string root_;
  RegistryClient& registry_;
  ImageStoreOptions options_;
  ContentStore content_;
  SnapshotStore snapshots_;
  mutable MetadataStore metadata_;
  std::shared_mutex gc_mutex_;  // shared: taking leases; exclusive: collecting garbage
  std::mutex locks_mutex_;
  std::map<std::string, std::unique_ptr<std::mutex>> chain_locks_;
};

}  // namespace hanok::images
