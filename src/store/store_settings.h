// The settings of one store database (retention, rollups, batching) and the option table that
// op.store and action.store share. Several plugin instances may name the same `path`: the
// first opener's settings apply, and a later opener that sets one of them differently is a
// config error (see Store::open_shared).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/options.h"
#include "core/result.h"

namespace edgeloop::store {

struct StoreSettings {
  std::string path;                                        // the SQLite file (-wal and -shm beside it)
  int64_t raw_retention_ns = 7 * 86400 * kSec;             // raw readings
  int64_t rollup_retention_ns = 90 * 86400 * kSec;         // rollup rows
  int64_t event_retention_ns = 90 * 86400 * kSec;          // events
  int64_t max_bytes = 1024LL * 1024 * 1024;                // 0: no bound on disk use
  std::vector<int64_t> rollup_intervals_ns = {60 * kSec};  // ascending, distinct; empty: no rollups
  int64_t commit_interval_ns = 50 * kSec / 1000;           // at most this long between transactions
  int64_t batch_rows = 20000;                              // rows per transaction at most
  int64_t retention_interval_ns = 60 * kSec;               // how often age retention runs

  static constexpr int64_t kSec = 1'000'000'000;

  // The options of a store itself (both plugins add their own after these).
  static void add_options(OptionTable& table);
  // Builds settings from validated options; `path` is made absolute and normalised so that
  // two spellings of one file share one store.
  static Result<StoreSettings> from(const Options& options);

  // Names of the store options (those compared between openers).
  static const std::vector<std::string>& compared_options();
  // The value of a compared option, canonical (a duration in its largest exact unit, a size
  // in bytes), for comparisons and messages.
  std::string value_text(const std::string& option) const;
};

// "90d", "1m", "250ms": a duration in its largest exact unit.
std::string duration_text(int64_t ns);

}  // namespace edgeloop::store
