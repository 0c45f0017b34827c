#include "images/sqlite.hpp"

#include <stdexcept>

namespace hanok::images::sqlite {

namespace {
constexpr int kBusyTimeoutMs = 5000;
}

void fail(sqlite3* db, const std::string& what) {
  throw std::runtime_error("metadata: " + what + ": " +
                           (db ? sqlite3_errmsg(db) : "out of memory"));
}

DbPtr open_database(const std::string& path) {
  sqlite3* raw = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  DbPtr db(raw);
  if (rc != SQLITE_OK) fail(raw, "open " + path);
  if (sqlite3_busy_timeout(raw, kBusyTimeoutMs) != SQLITE_OK) fail(raw, "set busy timeout");
  {
    Stmt wal(raw, "PRAGMA journal_mode=WAL", "enable WAL on " + path);
    if (!wal.step() || wal.text(0) != "wal") {
      throw std::runtime_error("metadata: " + path + ": could not switch to WAL journal mode");
    }
  }
  exec(raw, "PRAGMA foreign_keys=ON", "enable foreign keys");
  exec(raw, "PRAGMA synchronous=FULL", "set synchronous=FULL");
  return db;
}

Stmt::Stmt(sqlite3* db, const char* sql, std::string what) : db_(db), what_(std::move(what)) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &raw, nullptr) != SQLITE_OK) fail(db_, what_);
  stmt_.reset(raw);
}

Stmt& Stmt::bind(int index, const std::string& value) {
  check(sqlite3_bind_text(stmt_.get(), index, value.data(), static_cast<int>(value.size()),
                          SQLITE_TRANSIENT));
  return *this;
}

Stmt& Stmt::bind(int index, int64_t value) {
  check(sqlite3_bind_int64(stmt_.get(), index, value));
  return *this;
}

Stmt& Stmt::bind_blob(int index, std::string_view bytes) {
  check(sqlite3_bind_blob64(stmt_.get(), index, bytes.data(), bytes.size(), SQLITE_TRANSIENT));
  return *this;
}

bool Stmt::step() {
  int rc = sqlite3_step(stmt_.get());
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  fail(db_, what_);
}

void Stmt::reset() {
  sqlite3_reset(stmt_.get());
  sqlite3_clear_bindings(stmt_.get());
}

std::string Stmt::text(int column) const {
  const void* p = sqlite3_column_blob(stmt_.get(), column);
  return p ? std::string(static_cast<const char*>(p),
                         static_cast<size_t>(sqlite3_column_bytes(stmt_.get(), column)))
           : std::string();
}

int64_t Stmt::int64(int column) const {
  return sqlite3_column_int64(stmt_.get(), column);
}

void Stmt::check(int rc) {
  if (rc != SQLITE_OK) fail(db_, what_ + " (bind)");
}

void exec(sqlite3* db, const char* sql, const std::string& what) {
  char* message = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    std::string text = message ? message : sqlite3_errmsg(db);
    sqlite3_free(message);
    throw std::runtime_error("metadata: " + what + ": " + text);
  }
}

Transaction::Transaction(sqlite3* db, std::string what) : db_(db), what_(std::move(what)) {
  exec(db_, "BEGIN IMMEDIATE", what_ + ": begin");
}

Transaction::~Transaction() {
  if (!done_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
}

void Transaction::commit() {
  exec(db_, "COMMIT", what_ + ": commit");
  done_ = true;
}

int64_t user_version(sqlite3* db) {
  Stmt version(db, "PRAGMA user_version", "read schema version");
  return version.step() ? version.int64(0) : 0;
}

}  // namespace hanok::images::sqlite
