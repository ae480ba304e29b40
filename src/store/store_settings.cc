#include "store/store_settings.h"

#include <algorithm>
#include <filesystem>

namespace edgeloop::store {

void StoreSettings::add_options(OptionTable& table) {
  table.push_back({.name = "path",
                   .type = OptionType::kString,
                   .description =
                       "The SQLite database file (created when missing; `-wal` and `-shm` files live beside it). "
                       "Every op.store and action.store naming the same file shares one store and its writer thread.",
                   .required = true});
  table.push_back({.name = "raw_retention",
                   .type = OptionType::kDuration,
                   .default_value = "7d",
                   .description = "How long raw readings are kept, by event time (see the store README: the "
                                  "reference is the newest event time stored, capped at the wall clock).",
                   .min = 1});
  table.push_back({.name = "rollup_retention",
                   .type = OptionType::kDuration,
                   .default_value = "90d",
                   .description = "How long rollups (per key, field and interval: min/mean/max/count) are kept, by "
                                  "the start of their interval.",
                   .min = 1});
  table.push_back({.name = "event_retention",
                   .type = OptionType::kDuration,
                   .default_value = "90d",
                   .description = "How long events (alerts, insights, commands) are kept, by event time.",
                   .min = 1});
  table.push_back(
      {.name = "max_bytes",
       .type = OptionType::kSize,
       .default_value = "1GiB",
       .description =
           "Bound on the database's disk use (file and WAL): 0 for none, else at least 256KiB. The WAL gets an eighth "
           "(at most 4 MiB), and past 85% of the rest the oldest raw readings are deleted "
           "first, then the oldest rollups, then the oldest events, down to 70% (counted in "
           "edgeloop_store_retention_deleted_total{reason=\"size\"} and logged).",
       .min = 0});
  table.push_back({.name = "rollups",
                   .type = OptionType::kList,
                   .default_value = "1m",
                   .description = "Rollup intervals (durations, e.g. [1m, 1h]); each keeps min/mean/max/count per key "
                                  "and field, updated with every committed batch (late readings included). [] "
                                  "keeps none."});
  table.push_back({.name = "commit_interval",
                   .type = OptionType::kDuration,
                   .default_value = "50ms",
                   .description = "The writer commits what the queues hold at most this often (one transaction "
                                  "per batch): the delay before a reading can be queried.",
                   .min = 0.001,
                   .max = 60});
  table.push_back({.name = "batch_rows",
                   .type = OptionType::kInt,
                   .default_value = "20000",
                   .description = "Rows (readings and events) per transaction at most.",
                   .min = 1,
                   .max = 1e7});
  table.push_back({.name = "retention_interval",
                   .type = OptionType::kDuration,
                   .default_value = "1m",
                   .description = "How often the writer deletes what is past its retention (the size bound is "
                                  "checked after every transaction).",
                   .min = 0.001,
                   .max = 86400});
}

const std::vector<std::string>& StoreSettings::compared_options() {
  static const std::vector<std::string> names = {"raw_retention", "rollup_retention",  "event_retention",
                                                 "max_bytes",     "rollups",           "commit_interval",
                                                 "batch_rows",    "retention_interval"};
  return names;
}

std::string duration_text(int64_t ns) {
  struct Unit {
    int64_t ns;
    const char* name;
  };
  static constexpr Unit kUnits[] = {{86400 * StoreSettings::kSec, "d"},
                                    {3600 * StoreSettings::kSec, "h"},
                                    {60 * StoreSettings::kSec, "m"},
                                    {StoreSettings::kSec, "s"},
                                    {1'000'000, "ms"},
                                    {1'000, "us"}};
  for (const auto& u : kUnits) {
    if (ns != 0 && ns % u.ns == 0) return std::to_string(ns / u.ns) + u.name;
  }
  return std::to_string(ns) + "ns";
}

std::string StoreSettings::value_text(const std::string& option) const {
  if (option == "raw_retention") return duration_text(raw_retention_ns);
  if (option == "rollup_retention") return duration_text(rollup_retention_ns);
  if (option == "event_retention") return duration_text(event_retention_ns);
  if (option == "max_bytes") return std::to_string(max_bytes) + " bytes";
  if (option == "commit_interval") return duration_text(commit_interval_ns);
  if (option == "batch_rows") return std::to_string(batch_rows);
  if (option == "retention_interval") return duration_text(retention_interval_ns);
  if (option == "rollups") {
    std::string s = "[";
    for (std::size_t i = 0; i < rollup_intervals_ns.size(); ++i) {
      if (i) s += ", ";
      s += duration_text(rollup_intervals_ns[i]);
    }
    return s + "]";
  }
  return {};
}

Result<StoreSettings> StoreSettings::from(const Options& options) {
  StoreSettings s;
  const std::string path = options.str("path");
  if (path.empty()) return options.error("path", "the database path is empty");
  if (path == ":memory:" || path.rfind("file:", 0) == 0) {
    return options.error("path", "give a file path (an in-memory or URI database cannot be shared with readers)");
  }
  std::error_code ec;
  std::filesystem::path p = std::filesystem::absolute(path, ec);
  if (ec) return options.error("path", "cannot resolve '" + path + "': " + ec.message());
  p = std::filesystem::weakly_canonical(p, ec);
  if (ec) p = std::filesystem::absolute(path).lexically_normal();
  s.path = p.string();
  s.raw_retention_ns = options.duration_ns("raw_retention");
  s.rollup_retention_ns = options.duration_ns("rollup_retention");
  s.event_retention_ns = options.duration_ns("event_retention");
  s.max_bytes = options.size_bytes("max_bytes");
  if (s.max_bytes != 0 && s.max_bytes < 256 * 1024) {
    return options.error("max_bytes", "must be 0 (no bound) or at least 256KiB");
  }
  s.rollup_intervals_ns.clear();
  for (const auto& text : options.list("rollups")) {
    auto d = parse_duration_ns(text);
    if (!d.ok()) return options.error("rollups", d.error().message);
    if (*d < kSec) return options.error("rollups", "a rollup interval must be at least 1s, got '" + text + "'");
    s.rollup_intervals_ns.push_back(*d);
  }
  std::sort(s.rollup_intervals_ns.begin(), s.rollup_intervals_ns.end());
  if (std::adjacent_find(s.rollup_intervals_ns.begin(), s.rollup_intervals_ns.end()) != s.rollup_intervals_ns.end()) {
    return options.error("rollups", "an interval is listed twice");
  }
  if (s.rollup_intervals_ns.size() > 8) return options.error("rollups", "at most 8 rollup intervals");
  s.commit_interval_ns = options.duration_ns("commit_interval");
  s.batch_rows = options.integer("batch_rows");
  s.retention_interval_ns = options.duration_ns("retention_interval");
  return s;
}

}  // namespace edgeloop::store
