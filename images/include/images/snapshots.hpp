// Overlayfs snapshots: one directory per unpacked layer, keyed by chain id, and per-container
// overlay mounts (upper + work over the image's layers).
//
// Layout under root:
//   snapshots/<n>/fs          a layer's files (n is a small number: lowerdir lists stay short)
//   index/<chain hex>         symlink -> "<n>", a committed layer
//   index/<chain hex>.prep    symlink -> "<n>", a layer being unpacked
//   containers/<id>/{upper,work,rootfs}
#pragma once

#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "images/digest.hpp"

namespace hanok::images {

// OCI image-spec: ChainID(L0) = DiffID(L0); ChainID(L0..Ln) = sha256(ChainID(L0..Ln-1) + " " +
// DiffID(Ln)). Throws std::invalid_argument for an empty list.
Digest chain_id(const std::vector<Digest>& diff_ids);
// The chain id of every prefix: result[i] = chain_id(diff_ids[0..i]).
std::vector<Digest> chain_ids(const std::vector<Digest>& diff_ids);

struct RootfsMount {
  std::string rootfs;               // where the overlay is mounted
  std::string upper;                // the container's writable layer
  std::string work;                 // overlay workdir
  std::vector<std::string> lowers;  // absolute layer dirs, top first
};

class SnapshotStore {
 public:
  explicit SnapshotStore(std::string root);  // creates the directories
  const std::string& root() const { return root_; }

  // A fresh empty directory to unpack the layer `chain` into (a stale preparing one is removed).
  // Throws std::runtime_error when the layer is already committed.
  std::string prepare_layer_dir(const Digest& chain);
  // Makes the prepared layer visible to has_layer()/layer_dir(): its files synced to disk, then
  // an atomic rename of its index entry (synced too).
  void commit_layer(const Digest& chain);
  bool has_layer(const Digest& chain) const;
  // The committed layer's directory; throws std::runtime_error when there is none.
  std::string layer_dir(const Digest& chain) const;
  // Removes a committed or preparing layer; missing is fine.
  void remove_layer(const Digest& chain);
  // The same in two steps, for a caller that holds a lock only for the first: the layer is gone
  // from the index and its tree moved to <root>/trash at once (returned), deleted by purge()
  // later. A start empties what a crash left in the trash.
  std::vector<std::string> detach_layer(const Digest& chain);
  static void purge(const std::vector<std::string>& trash);
  // Removes what a crash can leave: index entries of chains not in `known_chains` (and every
  // preparing one), and layer directories no index entry names. Returns what went ("index/<hex>",
  // "snapshots/<n>").
  std::vector<std::string> clean(const std::set<std::string>& known_chains);

  // Creates containers/<id>/{upper,work,rootfs} and mounts overlay there with the committed
  // layers (bottom to top as in the manifest). Long lowerdir lists (many layers, a long root)
  // are mounted with paths relative to root/snapshots from a child that chdirs there, as
  // containerd does, so the options fit in a page. Throws isolate::SysError / runtime_error.
  // With `upper_layer` (an uncompressed layer tar, e.g. a checkpoint's rootfs diff), the
  // writable layer starts as that layer unpacked, before the overlay is mounted.
  RootfsMount prepare_container_rootfs(const std::string& container_id,
                                       const std::vector<Digest>& chain_ids_bottom_to_top,
                                       const std::string& upper_layer = {});
  // containers/<id>/upper: the container's writable layer.
  std::string container_upper_dir(const std::string& container_id) const;
  // Unmounts (MNT_DETACH) and removes containers/<id>; missing is fine.
  void remove_container_rootfs(const std::string& container_id);

 private:
  std::vector<std::string> trash_entries() const;
  std::string index_path(const Digest& chain, bool preparing) const;
  std::string read_index(const std::string& link) const;  // "" when missing
  std::string root_;
  std::mutex mutex_;
};

}  // namespace hanok::images
