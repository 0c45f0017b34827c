// The image metadata database over SQLite (WAL, foreign keys, one transaction per change).
#include "images/metadata_store.hpp"

#include "images/sqlite.hpp"

#include <algorithm>
#include <map>
#include <mutex>
#include <stdexcept>
#include <utility>

namespace hanok::images {

using sqlite::exec;
using sqlite::fail;
using sqlite::Stmt;
using sqlite::Transaction;

namespace {

constexpr int kSchemaVersion = 2;
constexpr size_t kMinPrefix = 12;

constexpr const char* kSchema = R"sql(
CREATE TABLE images(
  id TEXT PRIMARY KEY,
  size INTEGER NOT NULL,
  config TEXT NOT NULL,
  manifest_digest TEXT NOT NULL,
  created_at INTEGER NOT NULL);
CREATE TABLE image_names(
  name TEXT PRIMARY KEY,
  image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
  kind TEXT NOT NULL CHECK(kind IN ('tag','digest')));
CREATE INDEX image_names_by_image ON image_names(image_id);
CREATE TABLE image_layers(
  image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  chain_id TEXT NOT NULL,
  diff_id TEXT NOT NULL,
  blob_digest TEXT NOT NULL,
  PRIMARY KEY(image_id, position));
CREATE INDEX image_layers_by_chain ON image_layers(chain_id);
CREATE TABLE image_blobs(
  image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,
  digest TEXT NOT NULL,
  PRIMARY KEY(image_id, digest));
CREATE INDEX image_blobs_by_digest ON image_blobs(digest);
CREATE TABLE snapshots(
  chain_id TEXT PRIMARY KEY,
  parent TEXT NOT NULL,
  dir TEXT NOT NULL,
  size INTEGER NOT NULL,
  state TEXT NOT NULL CHECK(state IN ('preparing','committed')));
)sql";

// Version 2: leases, and the inodes of a snapshot.
constexpr const char* kSchemaV2 = R"sql(
ALTER TABLE snapshots ADD COLUMN inodes INTEGER NOT NULL DEFAULT 0;
CREATE TABLE leases(
  id TEXT PRIMARY KEY,
  temporary INTEGER NOT NULL,
  created_at INTEGER NOT NULL);
CREATE TABLE lease_resources(
  lease_id TEXT NOT NULL REFERENCES leases(id) ON DELETE CASCADE,
  kind TEXT NOT NULL CHECK(kind IN ('blob','snapshot')),
  key TEXT NOT NULL,
  PRIMARY KEY(lease_id, kind, key));
CREATE INDEX lease_resources_by_key ON lease_resources(kind, key);
)sql";

const char* state_name(SnapshotState state) {
  return state == SnapshotState::Committed ? "committed" : "preparing";
}

bool is_lower_hex(const std::string& s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

}  // namespace

struct MetadataStore::Impl {
  std::string path;
  sqlite::DbPtr db;
  std::mutex mutex;

  sqlite3* handle() const { return db.get(); }

  void create_or_check_schema() {
    int64_t current = sqlite::user_version(handle());
    if (current == kSchemaVersion) return;
    if (current > kSchemaVersion) {
      throw std::runtime_error("metadata: " + path + ": schema version " + std::to_string(current) +
                               " is newer than this hanok (" + std::to_string(kSchemaVersion) +
                               ")");
    }
    Transaction tx(handle(), "create schema in " + path);
    if (current < 1) exec(handle(), kSchema, "create schema in " + path);
    if (current < 2) exec(handle(), kSchemaV2, "upgrade the schema of " + path + " to version 2");
    exec(handle(), ("PRAGMA user_version = " + std::to_string(kSchemaVersion)).c_str(),
         "set schema version");
    tx.commit();
  }

  std::optional<ImageRecord> load_image(const std::string& id) {
    Stmt row(handle(),
             "SELECT id, size, config, manifest_digest, created_at FROM images WHERE id = ?",
             "find image " + id);
    row.bind(1, id);
    if (!row.step()) return std::nullopt;
    ImageRecord image;
    image.id = row.text(0);
    image.size = static_cast<uint64_t>(row.int64(1));
    image.config_json = row.text(2);
    image.manifest_digest = row.text(3);
    image.created_at = row.int64(4);

    Stmt names(handle(), "SELECT name, kind FROM image_names WHERE image_id = ? ORDER BY name",
               "read names of image " + id);
    names.bind(1, id);
    while (names.step()) {
      (names.text(1) == "tag" ? image.repo_tags : image.repo_digests).push_back(names.text(0));
    }
    Stmt layers(handle(),
                "SELECT chain_id, diff_id, blob_digest FROM image_layers WHERE image_id = ? "
                "ORDER BY position",
                "read layers of image " + id);
    layers.bind(1, id);
    while (layers.step()) {
      image.layers.push_back({layers.text(0), layers.text(1), layers.text(2)});
    }
    Stmt blobs(handle(), "SELECT digest FROM image_blobs WHERE image_id = ? ORDER BY digest",
               "read blobs of image " + id);
    blobs.bind(1, id);
    while (blobs.step()) image.blobs.push_back(blobs.text(0));
    return image;
  }

  // The image id a name, full id or id prefix resolves to.
  std::optional<std::string> resolve(const std::string& id_or_name) {
    {
      Stmt by_id(handle(), "SELECT id FROM images WHERE id = ?", "find image " + id_or_name);
      by_id.bind(1, id_or_name);
      if (by_id.step()) return by_id.text(0);
    }
    {
      Stmt by_name(handle(), "SELECT image_id FROM image_names WHERE name = ?",
                   "find image " + id_or_name);
      by_name.bind(1, id_or_name);
      if (by_name.step()) return by_name.text(0);
    }
    std::string hex = id_or_name.rfind("sha256:", 0) == 0 ? id_or_name.substr(7) : id_or_name;
    if (hex.size() < kMinPrefix || hex.size() > 64 || !is_lower_hex(hex)) return std::nullopt;
    // Hex has no LIKE wildcards, so the pattern is literal apart from the trailing %.
    Stmt by_prefix(handle(), "SELECT id FROM images WHERE id LIKE ? LIMIT 2",
                   "find image by prefix " + id_or_name);
    by_prefix.bind(1, "sha256:" + hex + "%");
    if (!by_prefix.step()) return std::nullopt;
    std::string id = by_prefix.text(0);
    if (by_prefix.step()) {
      throw std::runtime_error("metadata: image id prefix \"" + id_or_name +
                               "\" matches more than one image");
    }
    return id;
  }
};

MetadataStore::MetadataStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MetadataStore::~MetadataStore() = default;
MetadataStore::MetadataStore(MetadataStore&&) noexcept = default;
MetadataStore& MetadataStore::operator=(MetadataStore&&) noexcept = default;

const std::string& MetadataStore::path() const {
  return impl_->path;
}

MetadataStore MetadataStore::open(const std::string& path) {
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->db = sqlite::open_database(path);
  impl->create_or_check_schema();
  return MetadataStore(std::move(impl));
}

void MetadataStore::put_image(const ImageRecord& image) {
  std::lock_guard lock(impl_->mutex);
  sqlite3* db = impl_->handle();
  std::string what = "put image " + image.id;
  Transaction tx(db, what);
  Stmt(db,
       "INSERT INTO images(id, size, config, manifest_digest, created_at) VALUES(?, ?, ?, ?, ?) "
       "ON CONFLICT(id) DO UPDATE SET size = excluded.size, config = excluded.config, "
       "manifest_digest = excluded.manifest_digest, created_at = excluded.created_at",
       what)
      .bind(1, image.id)
      .bind(2, static_cast<int64_t>(image.size))
      .bind(3, image.config_json)
      .bind(4, image.manifest_digest)
      .bind(5, image.created_at)
      .run();
  Stmt(db, "DELETE FROM image_layers WHERE image_id = ?", what + ": replace layers")
      .bind(1, image.id)
      .run();
  Stmt layer(db,
             "INSERT INTO image_layers(image_id, position, chain_id, diff_id, blob_digest) "
             "VALUES(?, ?, ?, ?, ?)",
             what + ": add layer");
  for (size_t i = 0; i < image.layers.size(); ++i) {
    const LayerRecord& l = image.layers[i];
    layer.bind(1, image.id).bind(2, static_cast<int64_t>(i)).bind(3, l.chain_id);
    layer.bind(4, l.diff_id).bind(5, l.blob_digest).run();
    layer.reset();
  }
  Stmt blob(db, "INSERT OR IGNORE INTO image_blobs(image_id, digest) VALUES(?, ?)",
            what + ": add blob");
  for (const auto& digest : image.blobs) {
    blob.bind(1, image.id).bind(2, digest).run();
    blob.reset();
  }
  Stmt name(db,
            "INSERT INTO image_names(name, image_id, kind) VALUES(?, ?, ?) "
            "ON CONFLICT(name) DO UPDATE SET image_id = excluded.image_id, kind = excluded.kind",
            what + ": add name");
  for (const auto& tag : image.repo_tags) {
    name.bind(1, tag).bind(2, image.id).bind(3, std::string("tag")).run();
    name.reset();
  }
  for (const auto& digest : image.repo_digests) {
    name.bind(1, digest).bind(2, image.id).bind(3, std::string("digest")).run();
    name.reset();
  }
  tx.commit();
}

std::optional<ImageRecord> MetadataStore::find_image(const std::string& id_or_name) {
  std::lock_guard lock(impl_->mutex);
  Transaction tx(impl_->handle(), "find image " + id_or_name);  // one consistent snapshot
  auto id = impl_->resolve(id_or_name);
  if (!id) return std::nullopt;
  auto image = impl_->load_image(*id);
  tx.commit();
  return image;
}

std::vector<ImageRecord> MetadataStore::list_images() {
  std::lock_guard lock(impl_->mutex);
  Transaction tx(impl_->handle(), "list images");
  std::vector<std::string> ids;
  Stmt all(impl_->handle(), "SELECT id FROM images ORDER BY id", "list images");
  while (all.step()) ids.push_back(all.text(0));
  std::vector<ImageRecord> images;
  for (const auto& id : ids) {
    if (auto image = impl_->load_image(id)) images.push_back(std::move(*image));
  }
  tx.commit();
  return images;
}

bool MetadataStore::remove_image(const std::string& id) {
  std::lock_guard lock(impl_->mutex);
  sqlite3* db = impl_->handle();
  Transaction tx(db, "remove image " + id);
  Stmt(db, "DELETE FROM images WHERE id = ?", "remove image " + id).bind(1, id).run();
  bool removed = sqlite3_changes(db) > 0;
  tx.commit();
  return removed;
}

void MetadataStore::untag(const std::string& name) {
  std::lock_guard lock(impl_->mutex);
  sqlite3* db = impl_->handle();
  Transaction tx(db, "untag " + name);
  Stmt(db, "DELETE FROM image_names WHERE name = ?", "untag " + name).bind(1, name).run();
  tx.commit();
}

void MetadataStore::put_snapshot(const SnapshotRecord& s) {
  std::lock_guard lock(impl_->mutex);
  sqlite3* db = impl_->handle();
  std::string what = "put snapshot " + s.chain_id;
  Transaction tx(db, what);
  Stmt(db,
       "INSERT INTO snapshots(chain_id, parent, dir, size, state, inodes) VALUES(?, ?, ?, ?, ?, ?) "
       "ON CONFLICT(chain_id) DO UPDATE SET parent = excluded.parent, dir = excluded.dir, "
       "size = excluded.size, state = excluded.state, inodes = excluded.inodes",
       what)
      .bind(1, s.chain_id)
      .bind(2, s.parent)
      .bind(3, s.dir)
      .bind(4, static_cast<int64_t>(s.size))
      .bind(5, std::string(state_name(s.state)))
      .bind(6, static_cast<int64_t>(s.inodes))
      .run();
  tx.commit();
}

namespace {
SnapshotRecord snapshot_from(const Stmt& row) {
  SnapshotRecord s;
  s.chain_id = row.text(0);
  s.parent = row.text(1);
  s.dir = row.text(2);
  s.size = static_cast<uint64_t>(row.int64(3));
  s.state = row.text(4) == "committed" ? SnapshotState::Committed : SnapshotState::Preparing;
  s.inodes = static_cast<uint64_t>(row.int64(5));
  return s;
}
}  // namespace

std::optional<SnapshotRecord> MetadataStore::find_snapshot(const std::string& chain_id) {
  std::lock_guard lock(impl_->mutex);
  Stmt row(impl_->handle(),
           "SELECT chain_id, parent, dir, size, state, inodes FROM snapshots WHERE chain_id = ?",
           "find snapshot " + chain_id);
  row.bind(1, chain_id);
  if (!row.step()) return std::nullopt;
  return snapshot_from(row);
}

void MetadataStore::set_snapshot_committed(const std::string& chain_id, uint64_t size,
                                           uint64_t inodes) {
  std::lock_guard lock(impl_->mutex);
  sqlite3* db = impl_->handle();
  std::string what = "commit snapshot " + chain_id;
  Transaction tx(db, what);
  Stmt(db, "UPDATE snapshots SET state = 'committed', size = ?, inodes = ? WHERE chain_id = ?",
       what)
      .bind(1, static_cast<int64_t>(size))
      .bind(2, static_cast<int64_t>(inodes))
      .bind(3, chain_id)
      .run();
  if (sqlite3_changes(db) == 0) {
    throw std::runtime_error("metadata: " + what + ": no such snapshot");
  }
  tx.commit();
}

std::vector<SnapshotRecord> MetadataStore::list_snapshots() {
  std::lock_guard lock(impl_->mutex);
  Stmt rows(impl_->handle(),
            "SELECT chain_id, parent, dir, size, state, inodes FROM snapshots ORDER BY chain_id",
            "list snapshots");
  std::vector<SnapshotRecord> snapshots;
  while (rows.step()) snapshots.push_back(snapshot_from(rows));
  return snapshots;
}

void MetadataStore::remove_snapshot(const std::string& chain_id) {
  std::lock_guard lock(impl_->mutex);
  sqlite3* db = impl_->handle();
  Transaction tx(db, "remove snapshot " + chain_id);
  Stmt(db, "DELETE FROM snapshots WHERE chain_id = ?", "remove snapshot " + chain_id)
      .bind(1, chain_id)
      .run();
  tx.commit();
}

std::vector<std::string> MetadataStore::unreferenced_blobs(
    const std::vector<std::string>& all_blob_digests) {
  std::lock_guard lock(impl_->mutex);
  sqlite3* db = impl_->handle();
  Transaction tx(db, "find unreferenced blobs");
  Stmt used(db,
            "SELECT EXISTS(SELECT 1 FROM image_blobs WHERE digest = ?1) OR "
            "EXISTS(SELECT 1 FROM images WHERE id = ?1 OR manifest_digest = ?1) OR "
            "EXISTS(SELECT 1 FROM image_layers WHERE blob_digest = ?1) OR "
            "EXISTS(SELECT 1 FROM lease_resources WHERE kind = 'blob' AND key = ?1)",
            "find unreferenced blobs");
  std::vector<std::string> unreferenced;
  for (const auto& digest : all_blob_digests) {
    used.bind(1, digest);
    bool referenced = used.step() && used.int64(0) != 0;
    used.reset();
    if (!referenced) unreferenced.push_back(digest);
  }
  tx.commit();
  return unreferenced;
}

std::vector<std::string> MetadataStore::unreferenced_snapshots(
    const std::set<std::string>& in_use_by_containers) {
  std::lock_guard lock(impl_->mutex);
  sqlite3* db = impl_->handle();
  Transaction tx(db, "find unreferenced snapshots");
  std::map<std::string, std::string> parent_of;
  {
    Stmt rows(db, "SELECT chain_id, parent FROM snapshots", "find unreferenced snapshots");
    while (rows.step()) parent_of[rows.text(0)] = rows.text(1);
  }
  std::set<std::string> keep(in_use_by_containers.begin(), in_use_by_containers.end());
  {
    Stmt rows(db, "SELECT DISTINCT chain_id FROM image_layers", "find unreferenced snapshots");
    while (rows.step()) keep.insert(rows.text(0));
  }
  {
    Stmt rows(db, "SELECT DISTINCT key FROM lease_resources WHERE kind = 'snapshot'",
              "find unreferenced snapshots");
    while (rows.step()) keep.insert(rows.text(0));
  }
  tx.commit();
  // Parents of kept snapshots are kept too (overlayfs needs the lower layers).
  std::vector<std::string> pending(keep.begin(), keep.end());
  while (!pending.empty()) {
    std::string chain_id = std::move(pending.back());
    pending.pop_back();
    auto it = parent_of.find(chain_id);
    if (it == parent_of.end() || it->second.empty()) continue;
    if (keep.insert(it->second).second) pending.push_back(it->second);
  }
  auto depth = [&](const std::string& chain_id) {
    size_t d = 0;
    std::set<std::string> seen;
    for (auto it = parent_of.find(chain_id);
         it != parent_of.end() && !it->second.empty() && seen.insert(it->first).second;
         it = parent_of.find(it->second)) {
      ++d;
    }
    return d;
  };
  std::vector<std::pair<size_t, std::string>> unreferenced;
  for (const auto& [chain_id, parent] : parent_of) {
    if (!keep.count(chain_id)) unreferenced.emplace_back(depth(chain_id), chain_id);
  }
  // Deepest first: children before parents; ties by chain id for a stable order.
  std::sort(unreferenced.begin(), unreferenced.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  std::vector<std::string> result;
  for (auto& entry : unreferenced) result.push_back(std::move(entry.second));
  return result;
}

void MetadataStore::create_lease(const std::string& id, bool temporary) {
  std::lock_guard lock(impl_->mutex);
  sqlite3* db = impl_->handle();
  Transaction tx(db, "create lease " + id);
  Stmt(db, "INSERT INTO leases(id, temporary, created_at) VALUES(?, ?, strftime('%s','now'))",
       "create lease " + id)
      .bind(1, id)
      .bind(2, static_cast<int64_t>(temporary ? 1 : 0))
      .run();
  tx.commit();
}

void MetadataStore::add_to_lease(const std::string& id, const std::string& kind,
                                 const std::string& key) {
  std::lock_guard lock(impl_->mutex);
  sqlite3* db = impl_->handle();
  std::string what = "lease " + kind + " " + key + " to " + id;
  Transaction tx(db, what);
  Stmt(db, "INSERT OR IGNORE INTO lease_resources(lease_id, kind, key) VALUES(?, ?, ?)", what)
      .bind(1, id)
      .bind(2, kind)
      .bind(3, key)
      .run();
  tx.commit();
}

void MetadataStore::delete_lease(const std::string& id) {
  std::lock_guard lock(impl_->mutex);
  sqlite3* db = impl_->handle();
  Transaction tx(db, "delete lease " + id);
  Stmt(db, "DELETE FROM leases WHERE id = ?", "delete lease " + id).bind(1, id).run();
  tx.commit();
}

std::vector<std::string> MetadataStore::list_leases() {
  std::lock_guard lock(impl_->mutex);
  Stmt rows(impl_->handle(), "SELECT id FROM leases ORDER BY id", "list leases");
  std::vector<std::string> ids;
  while (rows.step()) ids.push_back(rows.text(0));
  return ids;
}

size_t MetadataStore::delete_temporary_leases() {
  std::lock_guard lock(impl_->mutex);
  sqlite3* db = impl_->handle();
  Transaction tx(db, "delete temporary leases");
  Stmt(db, "DELETE FROM leases WHERE temporary = 1", "delete temporary leases").run();
  size_t deleted = static_cast<size_t>(sqlite3_changes(db));
  tx.commit();
  return deleted;
}

}  // namespace hanok::images
