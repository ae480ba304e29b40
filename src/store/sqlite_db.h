// A thin RAII layer over the SQLite C API: a connection, prepared statements, and errors as
// Result/Status with SQLite's own message. Nothing here knows the store's tables.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"

struct sqlite3;
struct sqlite3_stmt;

namespace edgeloop::store {

class SqliteStmt;

class SqliteDb {
 public:
  enum class Mode { kReadWriteCreate, kReadOnly };

  SqliteDb() = default;
  ~SqliteDb();
  SqliteDb(SqliteDb&& other) noexcept : db_(other.db_) { other.db_ = nullptr; }
  SqliteDb& operator=(SqliteDb&& other) noexcept;
  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;

  // A connection used by one thread at a time (SQLITE_OPEN_NOMUTEX); busy_timeout_ms is how
  // long a statement waits on another connection's lock before SQLITE_BUSY.
  static Result<SqliteDb> open(const std::string& path, Mode mode, int busy_timeout_ms);

  // Runs one or more statements without results (DDL, pragmas, BEGIN/COMMIT).
  Status exec(std::string_view sql);
  Result<SqliteStmt> prepare(std::string_view sql);
  // The first column of the first row of `sql` as an integer (e.g. PRAGMA page_count).
  Result<int64_t> query_int(std::string_view sql);

  void set_busy_timeout(int ms);
  int64_t changes() const;
  int64_t last_insert_rowid() const;
  sqlite3* handle() const { return db_; }
  // "what: SQLite's message (code)".
  Error error(std::string_view what, int rc) const;

 private:
  explicit SqliteDb(sqlite3* db) : db_(db) {}
  sqlite3* db_ = nullptr;
};

// A prepared statement. step() returns true while it has a row; reset() before reuse.
class SqliteStmt {
 public:
  SqliteStmt() = default;
  ~SqliteStmt();
  SqliteStmt(SqliteStmt&& other) noexcept : db_(other.db_), stmt_(other.stmt_) { other.stmt_ = nullptr; }
  SqliteStmt& operator=(SqliteStmt&& other) noexcept;
  SqliteStmt(const SqliteStmt&) = delete;
  SqliteStmt& operator=(const SqliteStmt&) = delete;

  // Parameters are 1-based, as in SQLite.
  void bind_int(int i, int64_t v);
  void bind_double(int i, double v);
  void bind_text(int i, std::string_view v);  // copied by SQLite (SQLITE_TRANSIENT)
  void bind_blob(int i, const void* data, std::size_t size);
  void bind_null(int i);

  Result<bool> step();  // true: a row is ready; false: done
  Status run();         // steps to the end, ignoring rows
  void reset();         // reset and clear the bindings

  int64_t column_int(int i) const;
  double column_double(int i) const;
  std::string_view column_text(int i) const;
  std::string_view column_blob(int i) const;
  bool column_is_null(int i) const;

 private:
  friend class SqliteDb;
  SqliteStmt(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

}  // namespace edgeloop::store
