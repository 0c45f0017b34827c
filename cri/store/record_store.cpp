#include "record_store.hpp"

#include <stdexcept>

namespace hanok::cri {

using images::sqlite::Stmt;
using images::sqlite::Transaction;

namespace {
constexpr const char* kTables = R"sql(
CREATE TABLE IF NOT EXISTS cri_pods(
  id TEXT PRIMARY KEY,
  record BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS cri_containers(
  id TEXT PRIMARY KEY,
  pod_id TEXT NOT NULL,
  record BLOB NOT NULL);
)sql";

template <typename Record>
std::vector<Record> load_all(sqlite3* db, const char* sql, const char* what) {
  std::vector<Record> records;
  Stmt rows(db, sql, what);
  while (rows.step()) {
    Record record;
    std::string id = rows.text(0);
    if (!record.ParseFromString(rows.text(1))) {
      throw std::runtime_error(std::string("metadata: ") + what + ": the record of " + id +
                               " does not parse");
    }
    records.push_back(std::move(record));
  }
  return records;
}

void put_row(sqlite3* db, const char* sql, const std::string& id, const std::string& pod_id,
             const std::string& bytes, const std::string& what) {
  Transaction tx(db, what);
  Stmt put(db, sql, what);
  put.bind(1, id).bind_blob(2, bytes);
  if (!pod_id.empty()) put.bind(3, pod_id);
  put.run();
  tx.commit();
}
}  // namespace

RecordStore::RecordStore(const std::string& path) : db_(images::sqlite::open_database(path)) {
  Transaction tx(db_.get(), "create the pod and container tables in " + path);
  images::sqlite::exec(db_.get(), kTables, "create the pod and container tables in " + path);
  tx.commit();
}

void RecordStore::put(const store::PodRecord& pod) {
  std::lock_guard lock(mutex_);
  put_row(db_.get(),
          "INSERT INTO cri_pods(id, record) VALUES(?, ?) "
          "ON CONFLICT(id) DO UPDATE SET record = excluded.record",
          pod.id(), "", pod.SerializeAsString(), "save pod " + pod.id());
}

void RecordStore::put(const store::ContainerRecord& container) {
  std::lock_guard lock(mutex_);
  put_row(db_.get(),
          "INSERT INTO cri_containers(id, record, pod_id) VALUES(?, ?, ?) "
          "ON CONFLICT(id) DO UPDATE SET record = excluded.record",
          container.id(), container.pod_id(), container.SerializeAsString(),
          "save container " + container.id());
}

void RecordStore::remove_pod(const std::string& id) {
  std::lock_guard lock(mutex_);
  Stmt(db_.get(), "DELETE FROM cri_pods WHERE id = ?", "remove pod " + id).bind(1, id).run();
}

void RecordStore::remove_container(const std::string& id) {
  std::lock_guard lock(mutex_);
  Stmt(db_.get(), "DELETE FROM cri_containers WHERE id = ?", "remove container " + id)
      .bind(1, id)
      .run();
}

std::vector<store::PodRecord> RecordStore::pods() {
  std::lock_guard lock(mutex_);
  return load_all<store::PodRecord>(db_.get(), "SELECT id, record FROM cri_pods", "read pods");
}

std::vector<store::ContainerRecord> RecordStore::containers() {
  std::lock_guard lock(mutex_);
  return load_all<store::ContainerRecord>(db_.get(), "SELECT id, record FROM cri_containers",
                                          "read containers");
}

}  // namespace hanok::cri
