#include "store/sqlite_db.h"

#include <sqlite3.h>

namespace edgeloop::store {

SqliteDb::~SqliteDb() {
  // Statements are finalized by their owners first; close_v2 defers the close otherwise.
  if (db_) sqlite3_close_v2(db_);
}

SqliteDb& SqliteDb::operator=(SqliteDb&& other) noexcept {
  if (this != &other) {
    if (db_) sqlite3_close_v2(db_);
    db_ = other.db_;
    other.db_ = nullptr;
  }
  return *this;
}

Result<SqliteDb> SqliteDb::open(const std::string& path, Mode mode, int busy_timeout_ms) {
  sqlite3* db = nullptr;
  const int flags = (mode == Mode::kReadOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
                    SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = "cannot open the database " + path + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    if (db) sqlite3_close_v2(db);
    return make_error(rc == SQLITE_CANTOPEN ? Errc::kNotFound : Errc::kIo, msg);
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, busy_timeout_ms);
  return SqliteDb(db);
}

namespace {

Error sqlite_error(sqlite3* db, std::string_view what, int rc) {
  std::string msg(what);
  msg += ": ";
  msg += db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  msg += " (" + std::to_string(rc) + ")";
  const int primary = rc & 0xff;
  Errc code = Errc::kIo;
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED)
    code = Errc::kUnavailable;
  else if (primary == SQLITE_FULL)
    code = Errc::kTooLarge;
  else if (primary == SQLITE_ERROR || primary == SQLITE_MISUSE)
    code = Errc::kInternal;
  return make_error(code, std::move(msg));
}

}  // namespace

Error SqliteDb::error(std::string_view what, int rc) const {
  return sqlite_error(db_, what, rc);
}

Status SqliteDb::exec(std::string_view sql) {
  const std::string text(sql);
  char* err = nullptr;
  const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err);
  if (err) sqlite3_free(err);
  if (rc != SQLITE_OK) return error(text, rc);
  return Status::Ok();
}

Result<SqliteStmt> SqliteDb::prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  const int rc =
      sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) return error(sql, rc);
  return SqliteStmt(db_, stmt);
}

Result<int64_t> SqliteDb::query_int(std::string_view sql) {
  EDGELOOP_ASSIGN_OR_RETURN(SqliteStmt stmt, prepare(sql));
  EDGELOOP_ASSIGN_OR_RETURN(bool row, stmt.step());
  if (!row) return make_error(Errc::kInternal, std::string(sql) + ": no row");
  return stmt.column_int(0);
}

void SqliteDb::set_busy_timeout(int ms) {
  sqlite3_busy_timeout(db_, ms);
}
int64_t SqliteDb::changes() const {
  return sqlite3_changes64(db_);
}
int64_t SqliteDb::last_insert_rowid() const {
  return sqlite3_last_insert_rowid(db_);
}

SqliteStmt::~SqliteStmt() {
  if (stmt_) sqlite3_finalize(stmt_);
}

SqliteStmt& SqliteStmt::operator=(SqliteStmt&& other) noexcept {
  if (this != &other) {
    if (stmt_) sqlite3_finalize(stmt_);
    db_ = other.db_;
    stmt_ = other.stmt_;
    other.stmt_ = nullptr;
  }
  return *this;
}

void SqliteStmt::bind_int(int i, int64_t v) {
  sqlite3_bind_int64(stmt_, i, v);
}
void SqliteStmt::bind_double(int i, double v) {
  sqlite3_bind_double(stmt_, i, v);
}
void SqliteStmt::bind_text(int i, std::string_view v) {
  sqlite3_bind_text64(stmt_, i, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
}
void SqliteStmt::bind_blob(int i, const void* data, std::size_t size) {
  sqlite3_bind_blob64(stmt_, i, data, size, SQLITE_TRANSIENT);
}
void SqliteStmt::bind_null(int i) {
  sqlite3_bind_null(stmt_, i);
}

Result<bool> SqliteStmt::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  const char* sql = sqlite3_sql(stmt_);
  return sqlite_error(db_, sql ? sql : "statement", rc);
}

Status SqliteStmt::run() {
  while (true) {
    EDGELOOP_ASSIGN_OR_RETURN(bool row, step());
    if (!row) return Status::Ok();
  }
}

void SqliteStmt::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

int64_t SqliteStmt::column_int(int i) const {
  return sqlite3_column_int64(stmt_, i);
}
double SqliteStmt::column_double(int i) const {
  return sqlite3_column_double(stmt_, i);
}
std::string_view SqliteStmt::column_text(int i) const {
  const auto* p = sqlite3_column_text(stmt_, i);
  const int n = sqlite3_column_bytes(stmt_, i);
  return p ? std::string_view(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n)) : std::string_view();
}
std::string_view SqliteStmt::column_blob(int i) const {
  const void* p = sqlite3_column_blob(stmt_, i);
  const int n = sqlite3_column_bytes(stmt_, i);
  return p ? std::string_view(static_cast<const char*>(p), static_cast<std::size_t>(n)) : std::string_view();
}
bool SqliteStmt::column_is_null(int i) const {
  return sqlite3_column_type(stmt_, i) == SQLITE_NULL;
}

}  // namespace edgeloop::store
