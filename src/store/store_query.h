// Queries of a store: readings of one key (raw or one rollup interval) and events, by time
// range, with a limit. The same parameters serve `edgeloop query` and GET /api/v1/readings
// and /api/v1/events, so both report bad input the same way.
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/result.h"

namespace edgeloop::store {

inline constexpr int64_t kDefaultQueryLimit = 1000;
inline constexpr int64_t kMaxQueryLimit = 100000;

// Time ranges are [from, to): from inclusive, to exclusive, Unix ns of event time.
struct ReadingQuery {
  std::string key;  // required
  int64_t from_ns = std::numeric_limits<int64_t>::min();
  int64_t to_ns = std::numeric_limits<int64_t>::max();
  std::string field;      // empty: every field
  int64_t rollup_ns = 0;  // 0: raw readings; else one of the store's rollup intervals
  int64_t limit = kDefaultQueryLimit;
  bool descending = false;  // newest first
};

struct EventQuery {
  std::string key;   // empty: any (and so on for kind, pipeline, state)
  std::string kind;  // alert | insight | command
  std::string pipeline;
  std::string state;  // raised | cleared | none
  int64_t from_ns = std::numeric_limits<int64_t>::min();
  int64_t to_ns = std::numeric_limits<int64_t>::max();
  int64_t limit = kDefaultQueryLimit;
  bool descending = false;
};

using QueryParams = std::map<std::string, std::string>;

// Parameters: key (required), from, to (see time_spec.h), field, rollup (a duration, e.g. 1m;
// absent, empty or "raw": raw readings), limit (1..100000, default 1000), order (asc|desc).
// Errors are kInvalidArgument and name the parameter.
Result<ReadingQuery> reading_query_from(const QueryParams& params, int64_t now_ns);
// Parameters: key, kind, pipeline, state, from, to, limit, order.
Result<EventQuery> event_query_from(const QueryParams& params, int64_t now_ns);

// A raw reading: its values by field name, in the schema's order (non-finite values are NaN).
struct StoredReading {
  int64_t ts_ns = 0;
  std::vector<std::pair<std::string, double>> fields;
};

// One rollup row: a field of a key over [bucket_ns, bucket_ns + interval_ns).
struct StoredRollup {
  std::string field;
  int64_t bucket_ns = 0;
  int64_t interval_ns = 0;
  double min = 0;
  double mean = 0;
  double max = 0;
  int64_t count = 0;
};

struct StoredEvent {
  int64_t id = 0;  // the store's row id (increasing in write order)
  int64_t ts_ns = 0;
  std::string json;  // actions/event_json.h, as written
};

// The JSON objects the CLI and the HTTP API print:
//   raw:    {"key":"k","ts_ns":1,"fields":{"temp":21.5}}
//   rollup: {"key":"k","field":"temp","interval_ns":60000000000,"ts_ns":<bucket start>,
//            "min":20,"mean":21,"max":22,"count":60}
//   event:  the stored event JSON, unchanged.
std::string reading_json(const std::string& key, const StoredReading& r);
std::string rollup_json(const std::string& key, const StoredRollup& r);

}  // namespace edgeloop::store
