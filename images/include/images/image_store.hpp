// Images on a node: pull (registry -> content store -> unpacked layer snapshots -> metadata),
// list, status, remove with garbage collection, and the space they use. What the CRI
// ImageService serves.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "images/content_store.hpp"
#include "images/manifest.hpp"
#include "images/metadata_store.hpp"
#include "images/registry_client.hpp"
#include "images/snapshots.hpp"

namespace hanok::images {

struct PullOptions {
  std::optional<Credentials> credentials;
  Platform platform;
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
  uint64_t used_bytes = 0;  // allocated blocks, as du counts them
  uint64_t inodes_used = 0;
};

class ImageStore {
 public:
  // <root>/blobs, <root>/ingest, <root>/snapshots, <root>/metadata.db. Repairs what a killed
  // pull left (temp blobs, half-unpacked layers) when it opens.
  ImageStore(std::string root, RegistryClient& registry);

  ImageInfo pull(const std::string& reference, const PullOptions& options = {});
  std::vector<ImageInfo> list();
  // By id (or unique id prefix), repo tag ("busybox" normalised) or repo digest.
  std::optional<ImageInfo> find(const std::string& name_or_id);
  // Removes the image and every blob and snapshot no other image (or container, given as
  // chain ids in use) needs. Returns false when there was no such image.
  bool remove(const std::string& name_or_id, const std::set<std::string>& chain_ids_in_use = {});
  // Space used by blobs and snapshots.
  FsUsage usage() const;

  SnapshotStore& snapshots() { return snapshots_; }
  const ContentStore& content() const { return content_; }

 private:
  void repair();
  void ensure_layer(const Reference& ref, const Descriptor& layer, const Digest& diff_id,
                    const Digest& chain, const std::string& parent, const PullOptions& options);
  ImageInfo info_of(const ImageRecord& record) const;
  std::mutex& chain_lock(const std::string& chain);

  std::string root_;
  RegistryClient& registry_;
  ContentStore content_;
  SnapshotStore snapshots_;
  MetadataStore metadata_;
  std::mutex locks_mutex_;
  std::map<std::string, std::unique_ptr<std::mutex>> chain_locks_;
};

}  // namespace hanok::images
