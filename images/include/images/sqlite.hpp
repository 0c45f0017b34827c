// A thin layer over SQLite for the stores that keep their records in hanok's metadata database
// (the image metadata, the CRI's pods and containers): a connection opened in WAL mode with
// foreign keys and full sync, prepared statements, and transactions that roll back unless
// committed. Errors throw std::runtime_error "metadata: <what>: <SQLite's text>".
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace hanok::images::sqlite {

[[noreturn]] void fail(sqlite3* db, const std::string& what);

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using DbPtr = std::unique_ptr<sqlite3, DbCloser>;

// Opens (creating when missing) `path`: WAL journal, foreign keys on, synchronous=FULL, a busy
// timeout so that connections of one process (or two) wait for each other's writes.
DbPtr open_database(const std::string& path);

struct StmtFinalizer {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};

// One prepared statement; `what` names the operation in errors.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql, std::string what);
  Stmt& bind(int index, const std::string& value);
  Stmt& bind(int index, int64_t value);
  Stmt& bind_blob(int index, std::string_view bytes);
  // True when a row is available.
  bool step();
  void run() {
    while (step()) {
    }
  }
  void reset();
  std::string text(int column) const;  // also reads blobs
  int64_t int64(int column) const;

 private:
  void check(int rc);
  sqlite3* db_;
  std::string what_;
  std::unique_ptr<sqlite3_stmt, StmtFinalizer> stmt_;
};

// sqlite3_exec of `sql` (several statements allowed).
void exec(sqlite3* db, const char* sql, const std::string& what);

// BEGIN IMMEDIATE ... COMMIT; rolled back when destroyed uncommitted (an exception).
class Transaction {
 public:
  Transaction(sqlite3* db, std::string what);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit();

 private:
  sqlite3* db_;
  std::string what_;
  bool done_ = false;
};

// PRAGMA user_version.
int64_t user_version(sqlite3* db);

}  // namespace hanok::images::sqlite
