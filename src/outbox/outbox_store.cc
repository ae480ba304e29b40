#include "outbox/outbox_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <filesystem>

namespace edgeloop {

namespace {

constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS outbox ("
    " seq INTEGER PRIMARY KEY,"  // the rowid: rows are read and dropped in seq order for free
    " id TEXT NOT NULL,"
    " created_ns INTEGER NOT NULL,"
    " key TEXT NOT NULL,"
    " kind TEXT NOT NULL,"
    " pipeline TEXT NOT NULL,"
    " stage TEXT NOT NULL,"
    " bytes INTEGER NOT NULL,"
    " payload BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS outbox_meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);"
    "INSERT OR IGNORE INTO outbox_meta (name, value) VALUES ('schema_version', 1), ('last_seq', 0);";

void finalize(sqlite3_stmt*& s) {
  if (s) sqlite3_finalize(s);
  s = nullptr;
}

std::string column_text(sqlite3_stmt* s, int i) {
  const auto* p = sqlite3_column_blob(s, i);
  const int n = sqlite3_column_bytes(s, i);
  return p && n > 0 ? std::string(static_cast<const char*>(p), static_cast<std::size_t>(n)) : std::string();
}

void bind_text(sqlite3_stmt* s, int i, const std::string& v) {
  sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
}

}  // namespace

Error OutboxStore::db_error(sqlite3* db, const std::string& what) const {
  return make_error(Errc::kIo, "outbox " + path_ + ": " + what + ": " + (db ? sqlite3_errmsg(db) : "no database"));
}

Status OutboxStore::exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    return make_error(Errc::kIo, "outbox " + path_ + ": " + msg);
  }
  return Status::Ok();
}

Status OutboxStore::prepare(sqlite3* db, const char* sql, sqlite3_stmt** stmt) {
  if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, stmt, nullptr) != SQLITE_OK) {
    return db_error(db, std::string("prepare '") + sql + "'");
  }
  return Status::Ok();
}

OutboxStore::~OutboxStore() {
  for (sqlite3_stmt** s : {&insert_, &remove_, &drop_, &set_meta_, &oldest_, &begin_, &commit_, &read_}) finalize(*s);
  if (reader_) sqlite3_close_v2(reader_);
  if (db_) sqlite3_close_v2(db_);
}

Result<std::unique_ptr<OutboxStore>> OutboxStore::open(const std::string& path, OutboxSync sync) {
  if (path.empty()) return make_error(Errc::kInvalidArgument, "the outbox needs a database path");
  std::unique_ptr<OutboxStore> st(new OutboxStore());
  st->path_ = path;
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) return make_error(Errc::kIo, "outbox: cannot create folder " + parent.string() + ": " + ec.message());
  }
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  if (sqlite3_open_v2(path.c_str(), &st->db_, flags, nullptr) != SQLITE_OK) return st->db_error(st->db_, "open");
  sqlite3_busy_timeout(st->db_, 5000);
  // WAL: readers do not block the writer; one fsync per commit (FULL) or per checkpoint (NORMAL).
  EDGELOOP_TRY(st->exec(st->db_, "PRAGMA journal_mode=WAL;"));
  EDGELOOP_TRY(st->exec(st->db_, sync == OutboxSync::kFull ? "PRAGMA synchronous=FULL;" : "PRAGMA synchronous=NORMAL;"));
  EDGELOOP_TRY(st->exec(st->db_, "PRAGMA cache_size=-16384;"));
  EDGELOOP_TRY(st->exec(st->db_, kSchema));
  {
    sqlite3_stmt* q = nullptr;
    EDGELOOP_TRY(st->prepare(st->db_,
                             "SELECT (SELECT value FROM outbox_meta WHERE name='last_seq'),"
                             " (SELECT coalesce(max(seq),0) FROM outbox), (SELECT count(*) FROM outbox),"
                             " (SELECT coalesce(sum(bytes),0) FROM outbox);",
                             &q));
    if (sqlite3_step(q) != SQLITE_ROW) {
      sqlite3_finalize(q);
      return st->db_error(st->db_, "read state");
    }
    const auto meta_last = static_cast<uint64_t>(sqlite3_column_int64(q, 0));
    const auto max_seq = static_cast<uint64_t>(sqlite3_column_int64(q, 1));
    st->last_seq_ = std::max(meta_last, max_seq);
    st->rows_at_open_ = static_cast<uint64_t>(sqlite3_column_int64(q, 2));
    st->bytes_at_open_ = static_cast<uint64_t>(sqlite3_column_int64(q, 3));
    sqlite3_finalize(q);
  }
  EDGELOOP_TRY(st->prepare(st->db_,
                           "INSERT INTO outbox (seq, id, created_ns, key, kind, pipeline, stage, bytes, payload)"
                           " VALUES (?,?,?,?,?,?,?,?,?);",
                           &st->insert_));
  EDGELOOP_TRY(st->prepare(st->db_, "DELETE FROM outbox WHERE seq=? RETURNING bytes;", &st->remove_));
  EDGELOOP_TRY(st->prepare(st->db_,
                           "DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox ORDER BY seq LIMIT ?) RETURNING bytes;",
                           &st->drop_));
  EDGELOOP_TRY(st->prepare(st->db_, "UPDATE outbox_meta SET value=? WHERE name='last_seq';", &st->set_meta_));
  EDGELOOP_TRY(st->prepare(st->db_, "SELECT created_ns FROM outbox ORDER BY seq LIMIT 1;", &st->oldest_));
  EDGELOOP_TRY(st->prepare(st->db_, "BEGIN IMMEDIATE;", &st->begin_));
  EDGELOOP_TRY(st->prepare(st->db_, "COMMIT;", &st->commit_));

  // Read-write so that it may map the WAL index like the writer; it only ever reads.
  if (sqlite3_open_v2(path.c_str(), &st->reader_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
    return st->db_error(st->reader_, "open reader");
  }
  sqlite3_busy_timeout(st->reader_, 5000);
  EDGELOOP_TRY(st->prepare(st->reader_,
                           "SELECT seq, id, created_ns, key, kind, pipeline, stage, payload FROM outbox"
                           " WHERE seq > ? ORDER BY seq LIMIT ?;",
                           &st->read_));
  return st;
}

uint64_t OutboxStore::row_bytes(const OutboxMessage& m) {
  return m.payload.size() + m.id.size() + m.key.size() + m.kind.size() + m.pipeline.size() + m.stage.size();
}

Status OutboxStore::begin() {
  const int rc = sqlite3_step(begin_);
  sqlite3_reset(begin_);
  return rc == SQLITE_DONE ? Status::Ok() : Status(db_error(db_, "begin"));
}

Status OutboxStore::commit() {
  const int rc = sqlite3_step(commit_);
  sqlite3_reset(commit_);
  return rc == SQLITE_DONE ? Status::Ok() : Status(db_error(db_, "commit"));
}

void OutboxStore::rollback() { sqlite3_exec(db_, "ROLLBACK;", nullptr, nullptr, nullptr); }

Status OutboxStore::insert(const OutboxMessage& m) {
  sqlite3_stmt* s = insert_;
  sqlite3_bind_int64(s, 1, static_cast<sqlite3_int64>(m.seq));
  bind_text(s, 2, m.id);
  sqlite3_bind_int64(s, 3, m.created_ns);
  bind_text(s, 4, m.key);
  bind_text(s, 5, m.kind);
  bind_text(s, 6, m.pipeline);
  bind_text(s, 7, m.stage);
  sqlite3_bind_int64(s, 8, static_cast<sqlite3_int64>(row_bytes(m)));
  sqlite3_bind_blob(s, 9, m.payload.data(), static_cast<int>(m.payload.size()), SQLITE_STATIC);
  const int rc = sqlite3_step(s);
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
  return rc == SQLITE_DONE ? Status::Ok() : Status(db_error(db_, "insert"));
}

Result<std::optional<uint64_t>> OutboxStore::remove(uint64_t seq) {
  sqlite3_bind_int64(remove_, 1, static_cast<sqlite3_int64>(seq));
  std::optional<uint64_t> bytes;
  int rc = sqlite3_step(remove_);
  if (rc == SQLITE_ROW) {
    bytes = static_cast<uint64_t>(sqlite3_column_int64(remove_, 0));
    rc = sqlite3_step(remove_);
  }
  sqlite3_reset(remove_);
  if (rc != SQLITE_DONE) return db_error(db_, "delete");
  return bytes;
}

Status OutboxStore::drop_oldest(uint64_t count, uint64_t& rows, uint64_t& bytes) {
  sqlite3_bind_int64(drop_, 1, static_cast<sqlite3_int64>(count));
  int rc;
  while ((rc = sqlite3_step(drop_)) == SQLITE_ROW) {
    ++rows;
    bytes += static_cast<uint64_t>(sqlite3_column_int64(drop_, 0));
  }
  sqlite3_reset(drop_);
  return rc == SQLITE_DONE ? Status::Ok() : Status(db_error(db_, "drop oldest"));
}

Status OutboxStore::set_last_seq(uint64_t seq) {
  sqlite3_bind_int64(set_meta_, 1, static_cast<sqlite3_int64>(seq));
  const int rc = sqlite3_step(set_meta_);
  sqlite3_reset(set_meta_);
  if (rc != SQLITE_DONE) return db_error(db_, "update last_seq");
  last_seq_ = seq;
  return Status::Ok();
}

Result<std::optional<int64_t>> OutboxStore::oldest_created_ns() {
  std::optional<int64_t> out;
  const int rc = sqlite3_step(oldest_);
  if (rc == SQLITE_ROW) out = sqlite3_column_int64(oldest_, 0);
  sqlite3_reset(oldest_);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return db_error(db_, "oldest row");
  return out;
}

Status OutboxStore::read_after(uint64_t after, std::size_t limit, std::vector<OutboxMessage>& out) {
  sqlite3_bind_int64(read_, 1, static_cast<sqlite3_int64>(after));
  sqlite3_bind_int64(read_, 2, static_cast<sqlite3_int64>(limit));
  int rc;
  while ((rc = sqlite3_step(read_)) == SQLITE_ROW) {
    OutboxMessage m;
    m.seq = static_cast<uint64_t>(sqlite3_column_int64(read_, 0));
    m.id = column_text(read_, 1);
    m.created_ns = sqlite3_column_int64(read_, 2);
    m.key = column_text(read_, 3);
    m.kind = column_text(read_, 4);
    m.pipeline = column_text(read_, 5);
    m.stage = column_text(read_, 6);
    m.payload = column_text(read_, 7);
    out.push_back(std::move(m));
  }
  sqlite3_reset(read_);
  return rc == SQLITE_DONE ? Status::Ok() : Status(db_error(reader_, "read"));
}

}  // namespace edgeloop
