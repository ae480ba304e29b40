// The read side of a store: its own connection (read-only), so that queries never wait for
// the writer and the writer never waits for them (WAL: a reader sees the last commit before
// its statement began). Not thread-safe: one thread at a time (the Store pools them).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "store/sqlite_db.h"
#include "store/store_query.h"

namespace edgeloop::store {

class StoreReader {
 public:
  // kNotFound when there is no file at `path`; kInvalidArgument when it is not a store.
  static Result<std::unique_ptr<StoreReader>> open(const std::string& path);

  // Raw readings of q.key in [from, to) by event time (then write order), at most q.limit.
  // With q.field, only readings that carry it, and only that field. An unknown key: none.
  Result<std::vector<StoredReading>> raw(const ReadingQuery& q);
  // Rollups of q.key at interval q.rollup_ns whose interval overlaps [from, to), by start
  // then field. kInvalidArgument when the store keeps no such interval (neither configured
  // now nor left from an earlier configuration for this key).
  Result<std::vector<StoredRollup>> rollups(const ReadingQuery& q);
  Result<std::vector<StoredEvent>> events(const EventQuery& q);

  // raw() or rollups() (by q.rollup_ns) / events(), as JSON objects (store_query.h).
  Result<std::vector<std::string>> readings_json(const ReadingQuery& q);
  Result<std::vector<std::string>> events_json(const EventQuery& q);

  // The rollup intervals this store keeps (from its meta table).
  Result<std::vector<int64_t>> rollup_intervals();

 private:
  StoreReader() = default;
  Result<int64_t> find_key(const std::string& key);  // 0: unknown
  Result<const std::vector<std::string>*> schema(int64_t id);
  Status load_schemas();

  SqliteDb db_;
  std::map<int64_t, std::vector<std::string>> schemas_;  // by db id, cached (schemas never change)
};

}  // namespace edgeloop::store
