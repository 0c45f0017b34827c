// The image metadata database: images, their names, layers and blobs, and snapshot records.
// SQLite in WAL mode with foreign keys on; every change runs in one transaction, so a crash at
// any instant leaves a consistent store. Safe to share between threads (one lock per store).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace hanok::images {

struct LayerRecord {
  std::string chain_id;     // "sha256:..."; identifies the snapshot of this layer and its parents
  std::string diff_id;      // sha256 of the uncompressed layer tar
  std::string blob_digest;  // the (compressed) layer blob in the content store
  bool operator==(const LayerRecord&) const = default;
};

struct ImageRecord {
  std::string id;  // the config digest "sha256:..."
  uint64_t size = 0;
  std::string config_json;
  std::string manifest_digest;
  int64_t created_at = 0;  // seconds since the epoch
  // "docker.io/library/busybox:latest"; a tag names one image only.
  std::vector<std::string> repo_tags;
  // "docker.io/library/busybox@sha256:...".
  std::vector<std::string> repo_digests;
  std::vector<LayerRecord> layers;  // bottom first
  std::vector<std::string> blobs;   // every blob the image needs: manifest(s), config, layers
};

enum class SnapshotState { Preparing, Committed };

struct SnapshotRecord {
  std::string chain_id;
  std::string parent;  // chain id of the parent snapshot, empty for a bottom layer
  std::string dir;
  uint64_t size = 0;
  SnapshotState state = SnapshotState::Preparing;
  uint64_t inodes = 0;  // files, directories and links it holds
  bool operator==(const SnapshotRecord&) const = default;
};

// Errors throw std::runtime_error: "metadata: <what was being done>: <SQLite error text>".
class MetadataStore {
 public:
  // Opens (creating when missing) the database file and its schema.
  static MetadataStore open(const std::string& path);
  ~MetadataStore();
  MetadataStore(MetadataStore&&) noexcept;
  MetadataStore& operator=(MetadataStore&&) noexcept;
  MetadataStore(const MetadataStore&) = delete;
  MetadataStore& operator=(const MetadataStore&) = delete;

  const std::string& path() const;

  // One transaction: inserts or updates the image row, replaces its layers, adds its blobs
  // (blobs already recorded stay), moves every repo tag given to this image and adds its repo
  // digests. Names the record does not mention are left alone.
  void put_image(const ImageRecord& image);
  // By full id "sha256:<hex>", by name (repo tag or repo digest), or by a unique id prefix of at
  // least 12 hex characters (with or without "sha256:"). Throws std::runtime_error when a
  // prefix matches more than one image.
  std::optional<ImageRecord> find_image(const std::string& id_or_name);
  std::vector<ImageRecord> list_images();  // ordered by id
  // Removes the image with this full id with its names, layers and blobs records. False when
  // there is no such image.
  bool remove_image(const std::string& id);
  // Removes one name (tag or digest); a missing name is fine. The image itself stays.
  void untag(const std::string& name);

  // Inserts or replaces the record for snapshot.chain_id.
  void put_snapshot(const SnapshotRecord& snapshot);
  std::optional<SnapshotRecord> find_snapshot(const std::string& chain_id);
  // Throws std::runtime_error when there is no such snapshot.
  void set_snapshot_committed(const std::string& chain_id, uint64_t size, uint64_t inodes = 0);
  std::vector<SnapshotRecord> list_snapshots();       // ordered by chain id
  void remove_snapshot(const std::string& chain_id);  // missing is fine

  // Leases: what they name (blobs by digest, snapshots by chain id; "blob" or "snapshot") GC
  // keeps, whether it exists yet or not and whether an image references it or not. A pull
  // leases everything it touches before it touches it; a container its image's snapshots. A
  // temporary lease belongs to the process that made it: delete_temporary_leases() drops those
  // of a process that died (when the store opens again).
  void create_lease(const std::string& id, bool temporary);
  void add_to_lease(const std::string& id, const std::string& kind, const std::string& key);
  void delete_lease(const std::string& id);  // with what it holds; missing is fine
  std::vector<std::string> list_leases();
  size_t delete_temporary_leases();

  // GC: the digests in `all_blob_digests` no image references and no lease holds (input order
  // kept).
  std::vector<std::string> unreferenced_blobs(const std::vector<std::string>& all_blob_digests);
  // GC: chain ids of snapshots that no image layer references, no lease holds, no container
  // uses, and that are not the parent (transitively) of a snapshot that is kept. Children come
  // before their parents, so removing in order never removes a lower layer still under an upper
  // one.
  std::vector<std::string> unreferenced_snapshots(
      const std::set<std::string>& in_use_by_containers);

 private:
  struct Impl;
  explicit MetadataStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace hanok::images
