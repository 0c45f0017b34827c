#include "images/image_store.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <ctime>
#include <nlohmann/json.hpp>
#include <random>
#include <stdexcept>
#include <thread>

#include "images/reference.hpp"
#include "images/unpack.hpp"
#include "isolate/files.hpp"
#include "isolate/text.hpp"

namespace hanok::images {

namespace {
std::vector<Digest> diff_ids_of(const std::string& config_json) {
  std::vector<Digest> diff_ids;
  try {
    auto config = nlohmann::json::parse(config_json);
    for (const auto& id : config.at("rootfs").at("diff_ids")) {
      diff_ids.push_back(Digest::parse(id.get<std::string>()));
    }
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(std::string("image config: rootfs.diff_ids: ") + e.what());
  }
  return diff_ids;
}

// A repo tag or digest as the metadata stores it, or the text itself (an id or id prefix).
std::string normalised_name(const std::string& name_or_id) {
  if (name_or_id.rfind("sha256:", 0) == 0) return name_or_id;
  try {
    return parse_reference(name_or_id).str();
  } catch (const ReferenceError&) {
    return name_or_id;
  }
}

std::string random_hex(size_t length) {
  static thread_local std::mt19937_64 generator{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string text;
  for (size_t i = 0; i < length; ++i) text += kHex[generator() % 16];
  return text;
}
}  // namespace

// The temporary lease of one pull: every blob and snapshot it will touch is added before it is
// touched, and the lease goes when the pull ends (its image recorded, or failed).
class ImageStore::PullLease {
 public:
  explicit PullLease(ImageStore& store) : store_(store), id_("pull/" + random_hex(16)) {
    store_.metadata_.create_lease(id_, true);
  }
  ~PullLease() {
    try {
      store_.metadata_.delete_lease(id_);
    } catch (...) {
      // Temporary leases are dropped when the store opens again.
    }
  }
  PullLease(const PullLease&) = delete;
  PullLease& operator=(const PullLease&) = delete;

  // Under GC's shared lock: a collection either ended before (what it removed is fetched again)
  // or starts after (and sees the lease).
  void hold(const std::string& kind, const std::vector<std::string>& keys) {
    std::shared_lock gc(store_.gc_mutex_);
    for (const auto& key : keys) store_.metadata_.add_to_lease(id_, kind, key);
  }

 private:
  ImageStore& store_;
  std::string id_;
};

ImageStore::ImageStore(std::string root, RegistryClient& registry, ImageStoreOptions options)
    : root_(std::move(root)),
      registry_(registry),
      options_(std::move(options)),
      content_(root_),
      snapshots_(root_),
      metadata_(MetadataStore::open(root_ + "/metadata.db")) {
  if (options_.max_parallel_downloads == 0) options_.max_parallel_downloads = 1;
  repair();
}

void ImageStore::event(const std::string& what) const {
  if (options_.on_event) options_.on_event(what);
}

void ImageStore::repair() {
  content_.clean_ingest();
  // The pulls of a process that died hold nothing any more.
  metadata_.delete_temporary_leases();
  std::set<std::string> committed;
  for (const auto& snapshot : metadata_.list_snapshots()) {
    // A layer whose unpack was cut off is still "preparing": it is redone by the next pull; one
    // recorded as committed whose files are gone is forgotten.
    Digest chain = Digest::parse(snapshot.chain_id);
    if (snapshot.state == SnapshotState::Preparing || !snapshots_.has_layer(chain)) {
      snapshots_.remove_layer(chain);
      metadata_.remove_snapshot(snapshot.chain_id);
    } else {
      committed.insert(snapshot.chain_id);
    }
  }
  // Directories and index entries the database does not know (a crash between the two).
  snapshots_.clean(committed);
  // An image is present only with every layer: one that lost a layer goes (a pull brings it back;
  // a kubelet told it is present would never pull it again).
  for (const auto& image : metadata_.list_images()) {
    bool whole =
        std::all_of(image.layers.begin(), image.layers.end(),
                    [&](const LayerRecord& layer) { return committed.count(layer.chain_id); });
    if (!whole) metadata_.remove_image(image.id);
  }
}

std::mutex& ImageStore::chain_lock(const std::string& chain) {
  std::lock_guard<std::mutex> guard(locks_mutex_);
  auto& lock = chain_locks_[chain];
  if (!lock) lock = std::make_unique<std::mutex>();
  return *lock;
}

void ImageStore::ensure_layer(const Reference& ref, const Descriptor& layer, const Digest& diff_id,
                              const Digest& chain, const std::string& parent,
                              const PullOptions& options) {
  if (snapshots_.has_layer(chain)) return;
  // Downloads of one blob by several pulls are shared by the registry client; the unpack of one
  // layer happens once, under its lock.
  registry_.fetch_blob(ref, layer, content_, options.credentials, options.stop);
  std::lock_guard<std::mutex> guard(chain_lock(chain.str()));
  if (snapshots_.has_layer(chain)) return;
  options.stop.check("pull " + ref.str());
  std::string dir = snapshots_.prepare_layer_dir(chain);
  metadata_.put_snapshot({chain.str(), parent, dir, 0, SnapshotState::Preparing, 0});
  UnpackResult result;
  try {
    result = unpack_layer(content_.path(layer.digest), layer_compression(layer.media_type), dir);
    if (result.diff_id != diff_id) {
      throw std::runtime_error("layer " + layer.digest.str() + ": unpacked to " +
                               result.diff_id.str() + ", the image config says " + diff_id.str());
    }
    snapshots_.commit_layer(chain);
  } catch (...) {
    snapshots_.remove_layer(chain);
    metadata_.remove_snapshot(chain.str());
    throw;
  }
  metadata_.set_snapshot_committed(chain.str(), result.unpacked_bytes, result.entries);
}

ImageInfo ImageStore::pull(const std::string& reference, const PullOptions& options) {
  Reference ref = parse_reference(reference);
  const StopToken& stop = options.stop;
  PullLease lease(*this);
  auto top = registry_.fetch_manifest(ref, options.credentials, stop);
  lease.hold("blob", {top.digest.str()});
  content_.put(top.digest, top.body);
  std::vector<std::string> blobs = {top.digest.str()};

  RegistryClient::ManifestResponse chosen = top;
  if (is_index_media_type(top.media_type)) {
    Index index = parse_index(top.body, top.media_type);
    const Descriptor& wanted = select_platform(index, options.platform.value_or(options_.platform));
    chosen = registry_.fetch_manifest_by_digest(ref, wanted.digest, options.credentials, stop);
    lease.hold("blob", {chosen.digest.str()});
    content_.put(chosen.digest, chosen.body);
    blobs.push_back(chosen.digest.str());
  }
  Manifest manifest = parse_manifest(chosen.body, chosen.media_type);
  if (manifest.layers.size() > kMaxLayers) {
    throw std::runtime_error("image " + ref.str() + " has " +
                             std::to_string(manifest.layers.size()) +
                             " layers; overlayfs stacks at most " + std::to_string(kMaxLayers));
  }
  lease.hold("blob", {manifest.config.digest.str()});
  registry_.fetch_blob(ref, manifest.config, content_, options.credentials, stop);
  std::string config_json = content_.read(manifest.config.digest);
  std::vector<Digest> diff_ids = diff_ids_of(config_json);
  if (diff_ids.size() != manifest.layers.size()) {
    throw std::runtime_error("image " + ref.str() + ": the manifest has " +
                             std::to_string(manifest.layers.size()) + " layers, the config " +
                             std::to_string(diff_ids.size()) + " diff_ids");
  }
  std::vector<Digest> chains = chain_ids(diff_ids);
  std::vector<std::string> layer_blobs;
  std::vector<std::string> layer_chains;
  for (size_t i = 0; i < manifest.layers.size(); ++i) {
    layer_blobs.push_back(manifest.layers[i].digest.str());
    layer_chains.push_back(chains[i].str());
  }
  lease.hold("blob", layer_blobs);
  lease.hold("snapshot", layer_chains);

  // A bounded pool fetches and unpacks the layers; the first failure stops the others.
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex failure_mutex;
  std::exception_ptr failure;
  PullOptions layer_options = options;
  layer_options.stop = stop.with([&failed] { return failed.load(); });
  auto worker = [&] {
    for (size_t i = next++; i < manifest.layers.size() && !failed; i = next++) {
      try {
        std::string parent = i == 0 ? "" : chains[i - 1].str();
        ensure_layer(ref, manifest.layers[i], diff_ids[i], chains[i], parent, layer_options);
        event("layer " + chains[i].str());
      } catch (...) {
        std::lock_guard lock(failure_mutex);
        // The first failure is the cause; a worker stopped because of it is not.
        if (!failure) failure = std::current_exception();
        failed = true;
      }
    }
  };
  size_t workers = std::min(options_.max_parallel_downloads, manifest.layers.size());
  std::vector<std::thread> threads;
  for (size_t i = 1; i < workers; ++i) threads.emplace_back(worker);
  worker();
  for (auto& thread : threads) thread.join();
  if (failure) std::rethrow_exception(failure);
  stop.check("pull " + ref.str());

  ImageRecord record;
  record.id = manifest.config.digest.str();
  record.config_json = config_json;
  record.manifest_digest = chosen.digest.str();
  record.created_at = static_cast<int64_t>(::time(nullptr));
  record.size = top.body.size() + manifest.config.size;
  if (chosen.digest != top.digest) record.size += chosen.body.size();
  blobs.push_back(manifest.config.digest.str());
  for (size_t i = 0; i < manifest.layers.size(); ++i) {
    record.size += manifest.layers[i].size;
    record.layers.push_back({chains[i].str(), diff_ids[i].str(), manifest.layers[i].digest.str()});
    blobs.push_back(manifest.layers[i].digest.str());
  }
  record.blobs = blobs;
  if (ref.digest.empty()) record.repo_tags.push_back(ref.tagged());
  record.repo_digests.push_back(ref.name() + "@" + top.digest.str());
  metadata_.put_image(record);
  event("pulled " + record.id);
  return info_of(*metadata_.find_image(record.id));
}

ImageInfo ImageStore::info_of(const ImageRecord& record) const {
  ImageInfo info;
  info.id = record.id;
  info.repo_tags = record.repo_tags;
  info.repo_digests = record.repo_digests;
  info.size = record.size;
  info.config_json = record.config_json;
  for (const auto& layer : record.layers) info.chain_ids.push_back(Digest::parse(layer.chain_id));
  return info;
}

std::vector<ImageInfo> ImageStore::list() {
  std::vector<ImageInfo> images;
  for (const auto& record : metadata_.list_images()) images.push_back(info_of(record));
  return images;
}

std::optional<ImageInfo> ImageStore::find(const std::string& name_or_id) {
  auto record = metadata_.find_image(normalised_name(name_or_id));
  if (!record) record = metadata_.find_image(name_or_id);
  if (!record) return std::nullopt;
  return info_of(*record);
}

bool ImageStore::remove(const std::string& name_or_id) {
  std::vector<std::string> trash;
  {
    std::unique_lock gc(gc_mutex_);
    auto image = find(name_or_id);
    if (!image) return false;
    metadata_.remove_image(image->id);
    trash = collect_snapshots();
    std::vector<std::string> all;
    for (const auto& digest : content_.list()) all.push_back(digest.str());
    for (const auto& digest : metadata_.unreferenced_blobs(all)) {
      content_.remove(Digest::parse(digest));
    }
  }
  // The layer trees are deleted with no lock held: a create or a pull does not wait for them.
  SnapshotStore::purge(trash);
  return true;
}

std::optional<ImageInfo> ImageStore::lease_image(const std::string& name_or_id,
                                                 const std::string& lease_id) {
  std::shared_lock gc(gc_mutex_);
  auto image = find(name_or_id);
  if (!image) return std::nullopt;
  metadata_.create_lease(lease_id, false);
  for (const auto& chain : image->chain_ids) {
    metadata_.add_to_lease(lease_id, "snapshot", chain.str());
  }
  return image;
}

void ImageStore::lease_snapshots(const std::string& lease_id,
                                 const std::vector<Digest>& chain_ids) {
  std::shared_lock gc(gc_mutex_);
  metadata_.create_lease(lease_id, false);
  for (const auto& chain : chain_ids) metadata_.add_to_lease(lease_id, "snapshot", chain.str());
}

void ImageStore::release(const std::string& lease_id) {
  std::vector<std::string> trash;
  {
    std::unique_lock gc(gc_mutex_);
    metadata_.delete_lease(lease_id);
    // What only this lease kept (the layers of an image removed while a container used them).
    trash = collect_snapshots();
  }
  SnapshotStore::purge(trash);
}

std::vector<std::string> ImageStore::collect_snapshots() {
  std::vector<std::string> trash;
  for (const auto& chain : metadata_.unreferenced_snapshots({})) {
    for (auto& path : snapshots_.detach_layer(Digest::parse(chain)))
      trash.push_back(std::move(path));
    metadata_.remove_snapshot(chain);
  }
  return trash;
}

FsUsage ImageStore::image_usage() const {
  FsUsage usage;
  usage.mountpoint = root_;
  for (const auto& digest : content_.list()) {
    usage.used_bytes += content_.size(digest).value_or(0);
    ++usage.inodes_used;
  }
  for (const auto& snapshot : metadata_.list_snapshots()) {
    if (snapshot.state != SnapshotState::Committed) continue;
    usage.used_bytes += snapshot.size;
    usage.inodes_used += snapshot.inodes;
  }
  return usage;
}

}  // namespace hanok::images
