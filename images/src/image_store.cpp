#include "images/image_store.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <future>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "images/reference.hpp"
#include "images/unpack.hpp"
#include "isolate/files.hpp"

namespace hanok::images {

namespace {
// Bytes and inodes below `path`, counting each inode once (hard links) without crossing into
// other file systems (a container's overlay mounted below the root).
void add_usage(const std::string& path, dev_t device, std::set<std::pair<dev_t, ino_t>>& seen,
               FsUsage& usage) {
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) return;
  while (dirent* entry = ::readdir(dir)) {
    std::string name = entry->d_name;
    if (name == "." || name == "..") continue;
    std::string child = path + "/" + name;
    struct stat st {};
    if (::lstat(child.c_str(), &st) != 0 || st.st_dev != device) continue;
    if (seen.insert({st.st_dev, st.st_ino}).second) {
      usage.used_bytes += static_cast<uint64_t>(st.st_blocks) * 512;
      ++usage.inodes_used;
    }
    if (S_ISDIR(st.st_mode)) add_usage(child, device, seen, usage);
  }
  ::closedir(dir);
}

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
}  // namespace

ImageStore::ImageStore(std::string root, RegistryClient& registry)
    : root_(std::move(root)),
      registry_(registry),
      content_(root_),
      snapshots_(root_),
      metadata_(MetadataStore::open(root_ + "/metadata.db")) {
  repair();
}

void ImageStore::repair() {
  content_.clean_ingest();
  // A layer whose unpack was cut off is still "preparing": it is redone by the next pull.
  for (const auto& snapshot : metadata_.list_snapshots()) {
    if (snapshot.state == SnapshotState::Preparing) {
      snapshots_.remove_layer(Digest::parse(snapshot.chain_id));
      metadata_.remove_snapshot(snapshot.chain_id);
    }
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
  std::lock_guard<std::mutex> guard(chain_lock(chain.str()));
  if (snapshots_.has_layer(chain)) return;
  registry_.fetch_blob(ref, layer, content_, options.credentials);
  std::string dir = snapshots_.prepare_layer_dir(chain);
  metadata_.put_snapshot({chain.str(), parent, dir, 0, SnapshotState::Preparing});
  UnpackResult result;
  try {
    result = unpack_layer(content_.path(layer.digest), layer_compression(layer.media_type), dir);
    if (result.diff_id != diff_id) {
      throw std::runtime_error("layer " + layer.digest.str() + ": unpacked to " +
                               result.diff_id.str() + ", the image config says " + diff_id.str());
    }
  } catch (...) {
    snapshots_.remove_layer(chain);
    metadata_.remove_snapshot(chain.str());
    throw;
  }
  snapshots_.commit_layer(chain);
  metadata_.set_snapshot_committed(chain.str(), result.unpacked_bytes);
}

ImageInfo ImageStore::pull(const std::string& reference, const PullOptions& options) {
  Reference ref = parse_reference(reference);
  auto top = registry_.fetch_manifest(ref, options.credentials);
  content_.put(top.digest, top.body);
  std::vector<std::string> blobs = {top.digest.str()};

  RegistryClient::ManifestResponse chosen = top;
  if (is_index_media_type(top.media_type)) {
    Index index = parse_index(top.body, top.media_type);
    const Descriptor& wanted = select_platform(index, options.platform);
    chosen = registry_.fetch_manifest_by_digest(ref, wanted.digest, options.credentials);
    content_.put(chosen.digest, chosen.body);
    blobs.push_back(chosen.digest.str());
  }
  Manifest manifest = parse_manifest(chosen.body, chosen.media_type);
  registry_.fetch_blob(ref, manifest.config, content_, options.credentials);
  std::string config_json = content_.read(manifest.config.digest);
  std::vector<Digest> diff_ids = diff_ids_of(config_json);
  if (diff_ids.size() != manifest.layers.size()) {
    throw std::runtime_error("image " + ref.str() + ": the manifest has " +
                             std::to_string(manifest.layers.size()) + " layers, the config " +
                             std::to_string(diff_ids.size()) + " diff_ids");
  }
  std::vector<Digest> chains = chain_ids(diff_ids);

  // Layers download and unpack side by side; each one only once per node.
  std::vector<std::future<void>> tasks;
  for (size_t i = 0; i < manifest.layers.size(); ++i) {
    std::string parent = i == 0 ? "" : chains[i - 1].str();
    tasks.push_back(std::async(std::launch::async, [&, i, parent] {
      ensure_layer(ref, manifest.layers[i], diff_ids[i], chains[i], parent, options);
    }));
  }
  std::exception_ptr failure;
  for (auto& task : tasks) {
    try {
      task.get();
    } catch (...) {
      if (!failure) failure = std::current_exception();
    }
  }
  if (failure) std::rethrow_exception(failure);

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

bool ImageStore::remove(const std::string& name_or_id,
                        const std::set<std::string>& chain_ids_in_use) {
  auto image = find(name_or_id);
  if (!image) return false;
  metadata_.remove_image(image->id);
  for (const auto& chain : metadata_.unreferenced_snapshots(chain_ids_in_use)) {
    snapshots_.remove_layer(Digest::parse(chain));
    metadata_.remove_snapshot(chain);
  }
  std::vector<std::string> all;
  for (const auto& digest : content_.list()) all.push_back(digest.str());
  for (const auto& digest : metadata_.unreferenced_blobs(all)) {
    content_.remove(Digest::parse(digest));
  }
  return true;
}

FsUsage ImageStore::usage() const {
  FsUsage usage;
  usage.mountpoint = root_;
  struct stat st {};
  if (::stat(root_.c_str(), &st) != 0) return usage;
  std::set<std::pair<dev_t, ino_t>> seen;
  for (const char* part : {"/blobs", "/snapshots"}) {
    std::string path = root_ + part;
    struct stat top {};
    if (::lstat(path.c_str(), &top) != 0) continue;
    if (seen.insert({top.st_dev, top.st_ino}).second) {
      usage.used_bytes += static_cast<uint64_t>(top.st_blocks) * 512;
      ++usage.inodes_used;
    }
    add_usage(path, st.st_dev, seen, usage);
  }
  return usage;
}

}  // namespace hanok::images
