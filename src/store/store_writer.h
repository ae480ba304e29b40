// The write side of a store database: the schema, one transaction per batch (raw readings,
// rollup deltas merged into their rows, events), retention by age and the disk bound. Used by
// the Store's writer thread only (one connection, not thread-safe).
//
// Tables (format 1):
//   meta(name, value)                        format, rollup_intervals ("60000000000,...")
//   keys(id, name)                           stream keys, interned
//   schemas(id, fields)                      field-name lists (JSON arrays), interned
//   readings(key_id, ts_ns, schema_id, vals) vals: the values as little-endian f64, in schema order
//   rollups(key_id, interval_ns, bucket_ns, field, min_value, max_value, sum_value, count)
//   events(id, ts_ns, key, kind, state, pipeline, stage, json)   json: actions/event_json.h
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "store/sqlite_db.h"
#include "store/store_batch.h"
#include "store/store_settings.h"

namespace edgeloop::store {

inline constexpr int kStoreFormat = 1;

// Rows by table.
struct TableCounts {
  int64_t readings = 0;
  int64_t rollups = 0;
  int64_t events = 0;
  int64_t total() const { return readings + rollups + events; }
};

// Creates the tables when missing (auto_vacuum=INCREMENTAL, WAL, synchronous=NORMAL) on `db`.
Status create_schema(SqliteDb& db);

class StoreWriter {
 public:
  static Result<std::unique_ptr<StoreWriter>> open(const StoreSettings& settings);

  // One transaction. On error it is rolled back and nothing of the batch is kept. Returns the
  // rows written (rollups: rows inserted or updated).
  Result<TableCounts> write(const Batch& batch);

  // Deletes up to `max_rows` per table that are past their retention. The reference time is
  // min(now_wall_ns, the newest event time written): replayed history is not wiped by the wall
  // clock, and one reading stamped in the future cannot wipe the present.
  Result<TableCounts> delete_expired(int64_t now_wall_ns, int64_t max_rows);

  // The disk bound. The WAL gets max_bytes/8 (at least 8, at most 1000 pages: its
  // checkpoint threshold and size limit); the file the rest. When the live pages pass 85% of
  // the file's share, deletes the oldest raw readings, then rollups, then events until they
  // are under 70% (at most `max_rows` a call: later calls go on), freed pages being reused by
  // later writes. Only a file over its whole share (a lowered bound) is shrunk (incremental
  // vacuum). Then truncates the WAL. Does nothing with max_bytes 0.
  Result<TableCounts> enforce_size(int64_t max_rows);
  // A size pass is under way (enforce_size should be called again soon).
  bool shrinking() const { return shrinking_; }

  // Database file plus WAL, in bytes (stat).
  int64_t disk_bytes() const;
  int64_t newest_ts_ns() const { return newest_ts_ns_; }

 private:
  struct RollupKey {
    int64_t key_id;
    int64_t bucket_ns;
    uint32_t field;
    uint32_t interval;
    bool operator==(const RollupKey&) const = default;
  };
  struct RollupKeyHash {
    std::size_t operator()(const RollupKey& k) const;
  };
  struct Agg {
    double min;
    double max;
    double sum;
    int64_t count;
  };
  struct SchemaInfo {
    std::vector<std::string> names;
    std::vector<uint32_t> field_ids;  // into field_names_
    int64_t db_id = 0;                // 0: not resolved in this connection yet
  };

  explicit StoreWriter(StoreSettings settings) : settings_(std::move(settings)) {}
  Status prepare();
  Status write_rows(const Batch& batch, TableCounts& counts);
  Result<int64_t> key_id(uint32_t index);
  Result<int64_t> schema_id(uint32_t index);
  void forget_ids();
  Result<int64_t> live_bytes();
  Result<int64_t> delete_oldest(int table, int64_t rows);

  StoreSettings settings_;
  SqliteDb db_;
  int64_t page_size_ = 4096;
  int64_t wal_limit_bytes_ = 0;
  int64_t newest_ts_ns_ = INT64_MIN;
  bool shrinking_ = false;

  std::vector<std::string> key_names_;  // by the Store's key index
  std::vector<int64_t> key_ids_;        // db ids, 0: unresolved
  std::vector<SchemaInfo> schemas_;     // by the Store's schema index
  std::vector<std::string> field_names_;
  std::unordered_map<std::string, uint32_t> field_index_;
  std::unordered_map<RollupKey, Agg, RollupKeyHash> rollup_;
  std::string blob_;

  SqliteStmt begin_, commit_, rollback_;
  SqliteStmt find_key_, insert_key_, find_schema_, insert_schema_;
  SqliteStmt insert_reading_, upsert_rollup_, insert_event_;
  SqliteStmt expire_readings_, expire_rollups_, expire_events_;
  SqliteStmt oldest_readings_, oldest_rollups_, oldest_events_;
};

}  // namespace edgeloop::store
