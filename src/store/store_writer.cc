#include "store/store_writer.h"

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

namespace edgeloop::store {

namespace {

constexpr int kReadings = 0, kRollups = 1, kEvents = 2;
// A second process writing the same file waits this long for the lock before an error.
constexpr int kBusyTimeoutMs = 5000;

int64_t file_size(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  return static_cast<int64_t>(st.st_size);
}

// Floor to a multiple of `interval` (negative times round down too).
int64_t bucket_of(int64_t ts, int64_t interval) {
  int64_t r = ts % interval;
  if (r < 0) r += interval;
  return ts - r;
}

}  // namespace

Status create_schema(SqliteDb& db) {
  // auto_vacuum must be set before the first table exists; on an existing file it is a no-op.
  EDGELOOP_TRY(db.exec("PRAGMA auto_vacuum=INCREMENTAL"));
  EDGELOOP_ASSIGN_OR_RETURN(SqliteStmt wal, db.prepare("PRAGMA journal_mode=WAL"));
  EDGELOOP_ASSIGN_OR_RETURN(bool row, wal.step());
  if (!row || wal.column_text(0) != "wal") {
    return make_error(Errc::kIo, "the database cannot use WAL mode (journal_mode is '" +
                                     std::string(row ? wal.column_text(0) : "") + "')");
  }
  EDGELOOP_TRY(db.exec("PRAGMA synchronous=NORMAL"));
  return db.exec(R"sql(
    CREATE TABLE IF NOT EXISTS meta(name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS keys(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
    CREATE TABLE IF NOT EXISTS schemas(id INTEGER PRIMARY KEY, fields TEXT NOT NULL UNIQUE);
    CREATE TABLE IF NOT EXISTS readings(key_id INTEGER NOT NULL, ts_ns INTEGER NOT NULL,
                                        schema_id INTEGER NOT NULL, vals BLOB NOT NULL);
    CREATE INDEX IF NOT EXISTS readings_by_key ON readings(key_id, ts_ns);
    CREATE INDEX IF NOT EXISTS readings_by_ts ON readings(ts_ns);
    CREATE TABLE IF NOT EXISTS rollups(key_id INTEGER NOT NULL, interval_ns INTEGER NOT NULL,
                                       bucket_ns INTEGER NOT NULL, field TEXT NOT NULL,
                                       min_value REAL NOT NULL, max_value REAL NOT NULL,
                                       sum_value REAL NOT NULL, count INTEGER NOT NULL,
                                       PRIMARY KEY(key_id, interval_ns, bucket_ns, field)) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS rollups_by_bucket ON rollups(bucket_ns);
    CREATE TABLE IF NOT EXISTS events(id INTEGER PRIMARY KEY, ts_ns INTEGER NOT NULL, key TEXT NOT NULL,
                                      kind TEXT NOT NULL, state TEXT NOT NULL, pipeline TEXT NOT NULL,
                                      stage TEXT NOT NULL, json TEXT NOT NULL);
    CREATE INDEX IF NOT EXISTS events_by_ts ON events(ts_ns);
    CREATE INDEX IF NOT EXISTS events_by_key ON events(key, ts_ns);
    CREATE INDEX IF NOT EXISTS events_by_kind ON events(kind, ts_ns);
  )sql");
}

std::size_t StoreWriter::RollupKeyHash::operator()(const RollupKey& k) const {
  uint64_t h = static_cast<uint64_t>(k.key_id) * 0x9E3779B97F4A7C15ULL;
  h ^= static_cast<uint64_t>(k.bucket_ns) + 0x9E3779B97F4A7C15ULL + (h << 6) + (h >> 2);
  h ^= (uint64_t{k.field} << 8 | k.interval) + 0x9E3779B97F4A7C15ULL + (h << 6) + (h >> 2);
  return static_cast<std::size_t>(h);
}

Result<std::unique_ptr<StoreWriter>> StoreWriter::open(const StoreSettings& settings) {
  std::unique_ptr<StoreWriter> w(new StoreWriter(settings));
  EDGELOOP_ASSIGN_OR_RETURN(w->db_, SqliteDb::open(settings.path, SqliteDb::Mode::kReadWriteCreate, kBusyTimeoutMs));
  // SQLite opens the file lazily: the first statement is where a bad path shows.
  if (Status st = create_schema(w->db_); !st.ok()) {
    return make_error(st.error().code, "cannot open the database " + settings.path + ": " + st.error().message);
  }
  EDGELOOP_ASSIGN_OR_RETURN(w->page_size_, w->db_.query_int("PRAGMA page_size"));
  if (settings.max_bytes > 0) {
    // Keep the WAL to an eighth of the bound (at most the default 1000 pages): checkpoints
    // come more often under a small bound.
    w->wal_limit_bytes_ = std::clamp<int64_t>(settings.max_bytes / 8, 8 * w->page_size_, 1000 * w->page_size_);
    EDGELOOP_TRY(w->db_.exec("PRAGMA wal_autocheckpoint=" + std::to_string(w->wal_limit_bytes_ / w->page_size_)));
    EDGELOOP_TRY(w->db_.exec("PRAGMA journal_size_limit=" + std::to_string(w->wal_limit_bytes_)));
  } else {
    EDGELOOP_TRY(w->db_.exec("PRAGMA journal_size_limit=" + std::to_string(64 * 1024 * 1024)));
  }
  EDGELOOP_TRY(w->prepare());

  std::string intervals;
  for (int64_t i : settings.rollup_intervals_ns) {
    if (!intervals.empty()) intervals += ',';
    intervals += std::to_string(i);
  }
  EDGELOOP_ASSIGN_OR_RETURN(SqliteStmt meta, w->db_.prepare("INSERT INTO meta(name, value) VALUES(?1, ?2) "
                                                            "ON CONFLICT(name) DO UPDATE SET value = excluded.value"));
  meta.bind_text(1, "format");
  meta.bind_text(2, std::to_string(kStoreFormat));
  EDGELOOP_TRY(meta.run());
  meta.reset();
  meta.bind_text(1, "rollup_intervals");
  meta.bind_text(2, intervals);
  EDGELOOP_TRY(meta.run());

  EDGELOOP_ASSIGN_OR_RETURN(
      SqliteStmt newest,
      w->db_.prepare("SELECT max((SELECT max(ts_ns) FROM readings), (SELECT max(ts_ns) FROM events))"));
  EDGELOOP_ASSIGN_OR_RETURN(bool row, newest.step());
  if (row && !newest.column_is_null(0)) w->newest_ts_ns_ = newest.column_int(0);
  return w;
}

Status StoreWriter::prepare() {
  EDGELOOP_ASSIGN_OR_RETURN(begin_, db_.prepare("BEGIN IMMEDIATE"));
  EDGELOOP_ASSIGN_OR_RETURN(commit_, db_.prepare("COMMIT"));
  EDGELOOP_ASSIGN_OR_RETURN(rollback_, db_.prepare("ROLLBACK"));
  EDGELOOP_ASSIGN_OR_RETURN(find_key_, db_.prepare("SELECT id FROM keys WHERE name = ?1"));
  EDGELOOP_ASSIGN_OR_RETURN(insert_key_, db_.prepare("INSERT INTO keys(name) VALUES(?1)"));
  EDGELOOP_ASSIGN_OR_RETURN(find_schema_, db_.prepare("SELECT id FROM schemas WHERE fields = ?1"));
  EDGELOOP_ASSIGN_OR_RETURN(insert_schema_, db_.prepare("INSERT INTO schemas(fields) VALUES(?1)"));
  EDGELOOP_ASSIGN_OR_RETURN(insert_reading_,
                            db_.prepare("INSERT INTO readings(key_id, ts_ns, schema_id, vals) VALUES(?1, ?2, ?3, ?4)"));
  EDGELOOP_ASSIGN_OR_RETURN(
      upsert_rollup_,
      db_.prepare("INSERT INTO rollups(key_id, interval_ns, bucket_ns, field, min_value, max_value, sum_value, count) "
                  "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
                  "ON CONFLICT(key_id, interval_ns, bucket_ns, field) DO UPDATE SET "
                  "min_value = min(min_value, excluded.min_value), max_value = max(max_value, excluded.max_value), "
                  "sum_value = sum_value + excluded.sum_value, count = count + excluded.count"));
  EDGELOOP_ASSIGN_OR_RETURN(insert_event_,
                            db_.prepare("INSERT INTO events(ts_ns, key, kind, state, pipeline, stage, json) "
                                        "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)"));
  EDGELOOP_ASSIGN_OR_RETURN(expire_readings_,
                            db_.prepare("DELETE FROM readings WHERE rowid IN "
                                        "(SELECT rowid FROM readings WHERE ts_ns < ?1 ORDER BY ts_ns LIMIT ?2)"));
  EDGELOOP_ASSIGN_OR_RETURN(
      expire_rollups_, db_.prepare("DELETE FROM rollups WHERE (key_id, interval_ns, bucket_ns, field) IN "
                                   "(SELECT key_id, interval_ns, bucket_ns, field FROM rollups WHERE bucket_ns < ?1 "
                                   "ORDER BY bucket_ns LIMIT ?2)"));
  EDGELOOP_ASSIGN_OR_RETURN(expire_events_,
                            db_.prepare("DELETE FROM events WHERE id IN "
                                        "(SELECT id FROM events WHERE ts_ns < ?1 ORDER BY ts_ns LIMIT ?2)"));
  EDGELOOP_ASSIGN_OR_RETURN(oldest_readings_, db_.prepare("DELETE FROM readings WHERE rowid IN "
                                                          "(SELECT rowid FROM readings ORDER BY ts_ns LIMIT ?1)"));
  EDGELOOP_ASSIGN_OR_RETURN(
      oldest_rollups_,
      db_.prepare("DELETE FROM rollups WHERE (key_id, interval_ns, bucket_ns, field) IN "
                  "(SELECT key_id, interval_ns, bucket_ns, field FROM rollups ORDER BY bucket_ns LIMIT ?1)"));
  EDGELOOP_ASSIGN_OR_RETURN(
      oldest_events_, db_.prepare("DELETE FROM events WHERE id IN (SELECT id FROM events ORDER BY ts_ns LIMIT ?1)"));
  return Status::Ok();
}

void StoreWriter::forget_ids() {
  // After a rollback, ids learned inside it may not exist: look them up again.
  std::fill(key_ids_.begin(), key_ids_.end(), 0);
  for (auto& s : schemas_) s.db_id = 0;
}

Result<int64_t> StoreWriter::key_id(uint32_t index) {
  if (index >= key_ids_.size()) return make_error(Errc::kInternal, "store: unknown key index " + std::to_string(index));
  if (key_ids_[index] != 0) return key_ids_[index];
  const std::string& name = key_names_[index];
  find_key_.reset();
  find_key_.bind_text(1, name);
  EDGELOOP_ASSIGN_OR_RETURN(bool found, find_key_.step());
  int64_t id = 0;
  if (found) {
    id = find_key_.column_int(0);
  } else {
    insert_key_.reset();
    insert_key_.bind_text(1, name);
    EDGELOOP_TRY(insert_key_.run());
    id = db_.last_insert_rowid();
  }
  find_key_.reset();
  key_ids_[index] = id;
  return id;
}

Result<int64_t> StoreWriter::schema_id(uint32_t index) {
  if (index >= schemas_.size())
    return make_error(Errc::kInternal, "store: unknown schema index " + std::to_string(index));
  SchemaInfo& s = schemas_[index];
  if (s.db_id != 0) return s.db_id;
  const std::string text = nlohmann::json(s.names).dump();
  find_schema_.reset();
  find_schema_.bind_text(1, text);
  EDGELOOP_ASSIGN_OR_RETURN(bool found, find_schema_.step());
  if (found) {
    s.db_id = find_schema_.column_int(0);
  } else {
    insert_schema_.reset();
    insert_schema_.bind_text(1, text);
    EDGELOOP_TRY(insert_schema_.run());
    s.db_id = db_.last_insert_rowid();
  }
  find_schema_.reset();
  return s.db_id;
}

Result<TableCounts> StoreWriter::write(const Batch& batch) {
  // Names first: they outlive a failed transaction (they live in memory, ids are looked up
  // again).
  for (const auto& [index, name] : batch.new_keys) {
    if (index >= key_names_.size()) {
      key_names_.resize(index + 1);
      key_ids_.resize(index + 1, 0);
    }
    key_names_[index] = name;
  }
  for (const auto& [index, names] : batch.new_schemas) {
    if (index >= schemas_.size()) schemas_.resize(index + 1);
    SchemaInfo& s = schemas_[index];
    s.names = names;
    s.field_ids.clear();
    for (const auto& n : names) {
      auto [it, added] = field_index_.try_emplace(n, static_cast<uint32_t>(field_names_.size()));
      if (added) field_names_.push_back(n);
      s.field_ids.push_back(it->second);
    }
  }
  if (batch.readings.empty() && batch.events.empty()) return TableCounts{};

  TableCounts counts;
  begin_.reset();
  EDGELOOP_TRY(begin_.run());
  Status st = write_rows(batch, counts);
  if (st.ok()) {
    commit_.reset();
    st = commit_.run();
  }
  if (!st.ok()) {
    rollback_.reset();
    (void)rollback_.run();  // fails harmlessly when SQLite already rolled back
    forget_ids();
    return st.error();
  }
  if (wal_limit_bytes_ > 0 && file_size(settings_.path + "-wal") > wal_limit_bytes_) {
    // A checkpoint leaves the WAL file at its largest size until the next write resets it:
    // under a disk bound, empty it now (giving up at once when a reader holds it).
    db_.set_busy_timeout(0);
    (void)db_.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    db_.set_busy_timeout(kBusyTimeoutMs);
  }
  for (const auto& r : batch.readings) newest_ts_ns_ = std::max(newest_ts_ns_, r.ts_ns);
  for (const auto& e : batch.events) newest_ts_ns_ = std::max(newest_ts_ns_, e.ts_ns);
  return counts;
}

Status StoreWriter::write_rows(const Batch& batch, TableCounts& counts) {
  rollup_.clear();
  const auto& intervals = settings_.rollup_intervals_ns;
  for (const PendingReading& r : batch.readings) {
    EDGELOOP_ASSIGN_OR_RETURN(int64_t kid, key_id(r.key));
    EDGELOOP_ASSIGN_OR_RETURN(int64_t sid, schema_id(r.schema));
    blob_.resize(std::size_t{r.nfields} * sizeof(double));
    // x86-64 and aarch64 are little-endian: the doubles' bytes are the file format.
    if (r.nfields) std::memcpy(blob_.data(), r.f.data(), blob_.size());
    insert_reading_.reset();
    insert_reading_.bind_int(1, kid);
    insert_reading_.bind_int(2, r.ts_ns);
    insert_reading_.bind_int(3, sid);
    insert_reading_.bind_blob(4, blob_.data(), blob_.size());
    EDGELOOP_TRY(insert_reading_.run());
    ++counts.readings;
    if (intervals.empty()) continue;
    const SchemaInfo& schema = schemas_[r.schema];
    const std::size_t n = std::min<std::size_t>(r.nfields, schema.field_ids.size());
    for (std::size_t i = 0; i < n; ++i) {
      const double v = r.f[i];
      if (!std::isfinite(v)) continue;  // a rollup of NaN says nothing; the raw row keeps it
      for (std::size_t k = 0; k < intervals.size(); ++k) {
        const RollupKey rk{kid, bucket_of(r.ts_ns, intervals[k]), schema.field_ids[i], static_cast<uint32_t>(k)};
        auto [it, added] = rollup_.try_emplace(rk, Agg{v, v, v, 1});
        if (!added) {
          Agg& a = it->second;
          a.min = std::min(a.min, v);
          a.max = std::max(a.max, v);
          a.sum += v;
          ++a.count;
        }
      }
    }
  }
  for (const auto& [k, a] : rollup_) {
    upsert_rollup_.reset();
    upsert_rollup_.bind_int(1, k.key_id);
    upsert_rollup_.bind_int(2, intervals[k.interval]);
    upsert_rollup_.bind_int(3, k.bucket_ns);
    upsert_rollup_.bind_text(4, field_names_[k.field]);
    upsert_rollup_.bind_double(5, a.min);
    upsert_rollup_.bind_double(6, a.max);
    upsert_rollup_.bind_double(7, a.sum);
    upsert_rollup_.bind_int(8, a.count);
    EDGELOOP_TRY(upsert_rollup_.run());
    ++counts.rollups;
  }
  for (const PendingEvent& e : batch.events) {
    insert_event_.reset();
    insert_event_.bind_int(1, e.ts_ns);
    insert_event_.bind_text(2, e.key);
    insert_event_.bind_text(3, e.kind);
    insert_event_.bind_text(4, e.state);
    insert_event_.bind_text(5, e.pipeline);
    insert_event_.bind_text(6, e.stage);
    insert_event_.bind_text(7, e.json);
    EDGELOOP_TRY(insert_event_.run());
    ++counts.events;
  }
  return Status::Ok();
}

Result<TableCounts> StoreWriter::delete_expired(int64_t now_wall_ns, int64_t max_rows) {
  TableCounts counts;
  if (newest_ts_ns_ == INT64_MIN) return counts;
  const int64_t ref = std::min(now_wall_ns, newest_ts_ns_);
  struct Step {
    SqliteStmt* stmt;
    int64_t retention;
    int64_t* count;
  } steps[] = {{&expire_readings_, settings_.raw_retention_ns, &counts.readings},
               {&expire_rollups_, settings_.rollup_retention_ns, &counts.rollups},
               {&expire_events_, settings_.event_retention_ns, &counts.events}};
  begin_.reset();
  EDGELOOP_TRY(begin_.run());
  for (auto& s : steps) {
    s.stmt->reset();
    s.stmt->bind_int(1, ref - s.retention);
    s.stmt->bind_int(2, max_rows);
    Status st = s.stmt->run();
    if (!st.ok()) {
      rollback_.reset();
      (void)rollback_.run();
      return st.error();
    }
    *s.count = db_.changes();
  }
  commit_.reset();
  EDGELOOP_TRY(commit_.run());
  return counts;
}

Result<int64_t> StoreWriter::live_bytes() {
  EDGELOOP_ASSIGN_OR_RETURN(int64_t pages, db_.query_int("PRAGMA page_count"));
  EDGELOOP_ASSIGN_OR_RETURN(int64_t free_pages, db_.query_int("PRAGMA freelist_count"));
  return (pages - free_pages) * page_size_;
}

Result<int64_t> StoreWriter::delete_oldest(int table, int64_t rows) {
  SqliteStmt& stmt = table == kReadings ? oldest_readings_ : table == kRollups ? oldest_rollups_ : oldest_events_;
  stmt.reset();
  stmt.bind_int(1, rows);
  EDGELOOP_TRY(stmt.run());
  return db_.changes();
}

Result<TableCounts> StoreWriter::enforce_size(int64_t max_rows) {
  TableCounts counts;
  if (settings_.max_bytes <= 0) return counts;
  // The file's share of the bound; the WAL has the rest.
  const int64_t budget = settings_.max_bytes - wal_limit_bytes_;
  const int64_t high = budget * 85 / 100, low = budget * 70 / 100;
  EDGELOOP_ASSIGN_OR_RETURN(int64_t pages, db_.query_int("PRAGMA page_count"));
  EDGELOOP_ASSIGN_OR_RETURN(int64_t live, live_bytes());
  if (live > high) shrinking_ = true;
  if (!shrinking_ && pages * page_size_ <= budget) return counts;

  if (shrinking_) {
    begin_.reset();
    EDGELOOP_TRY(begin_.run());
    auto fail = [&](const Error& e) -> Result<TableCounts> {
      rollback_.reset();
      (void)rollback_.run();
      shrinking_ = false;  // retried after the next transaction, not every cycle
      return e;
    };
    int64_t* table_counts[] = {&counts.readings, &counts.rollups, &counts.events};
    // Rows to delete are estimated from the bytes a row frees, measured after each chunk; a
    // chunk takes half the estimate, so a poor first guess cannot delete far too much.
    int64_t bytes_per_row = 256;
    int table = kReadings;
    while (live > low && table <= kEvents && counts.total() < max_rows) {
      const int64_t rows =
          std::clamp<int64_t>((live - low) / bytes_per_row / 2, 64, std::max<int64_t>(64, max_rows - counts.total()));
      auto deleted = delete_oldest(table, rows);
      if (!deleted.ok()) return fail(deleted.error());
      if (*deleted == 0) {
        ++table;  // this table is empty: the next one
        continue;
      }
      *table_counts[table] += *deleted;
      const int64_t before = live;
      auto now = live_bytes();
      if (!now.ok()) return fail(now.error());
      live = *now;
      // Pages free only once empty, so a chunk may free less than it deleted: the estimate
      // then grows the next chunk (never under 16 bytes a row).
      bytes_per_row = std::max<int64_t>(16, (before - live) / *deleted);
    }
    commit_.reset();
    EDGELOOP_TRY(commit_.run());
    // Done when under the low mark or nothing is left to delete; otherwise the next pass
    // goes on (a pass deletes at most max_rows, so the writer never stalls for long).
    if (live <= low || table > kEvents) shrinking_ = false;
  }
  if (!shrinking_ && pages * page_size_ > budget) {
    // The file itself is over its share (a lowered bound, or one large batch): give the free
    // pages back to the file system. In the steady state they are reused instead, which
    // costs no page moves.
    EDGELOOP_TRY(db_.exec("PRAGMA incremental_vacuum"));
  }
  // Empty the WAL where no reader holds it; a reader in the way makes the checkpoint give up
  // at once rather than stall the writer.
  db_.set_busy_timeout(0);
  (void)db_.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  db_.set_busy_timeout(kBusyTimeoutMs);
  return counts;
}

int64_t StoreWriter::disk_bytes() const {
  return file_size(settings_.path) + file_size(settings_.path + "-wal");
}

}  // namespace edgeloop::store
