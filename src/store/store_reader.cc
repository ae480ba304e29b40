#include "store/store_reader.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

#include "store/store_settings.h"

namespace edgeloop::store {

Result<std::unique_ptr<StoreReader>> StoreReader::open(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return make_error(Errc::kNotFound, "no store at " + path + ": " + std::strerror(errno));
  }
  std::unique_ptr<StoreReader> r(new StoreReader());
  // Read-only: a query can never change the store, whoever runs it.
  EDGELOOP_ASSIGN_OR_RETURN(r->db_, SqliteDb::open(path, SqliteDb::Mode::kReadOnly, 2000));
  auto format = r->db_.prepare("SELECT value FROM meta WHERE name = 'format'");
  if (!format.ok()) {
    return make_error(Errc::kInvalidArgument, path + " is not an edgeloop store (" + format.error().message + ")");
  }
  EDGELOOP_ASSIGN_OR_RETURN(bool row, format->step());
  if (!row || format->column_text(0) != "1") {
    return make_error(Errc::kInvalidArgument,
                      path + ": unsupported store format '" + std::string(row ? format->column_text(0) : "") + "'");
  }
  return r;
}

Result<std::vector<int64_t>> StoreReader::rollup_intervals() {
  EDGELOOP_ASSIGN_OR_RETURN(SqliteStmt stmt, db_.prepare("SELECT value FROM meta WHERE name = 'rollup_intervals'"));
  EDGELOOP_ASSIGN_OR_RETURN(bool row, stmt.step());
  std::vector<int64_t> out;
  if (!row) return out;
  std::string_view text = stmt.column_text(0);
  while (!text.empty()) {
    const std::size_t comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    int64_t v = 0;
    const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
    if (ec != std::errc() || end != item.data() + item.size()) {
      return make_error(Errc::kParse, "store: bad rollup_intervals in its meta table: '" + std::string(item) + "'");
    }
    out.push_back(v);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

Result<int64_t> StoreReader::find_key(const std::string& key) {
  EDGELOOP_ASSIGN_OR_RETURN(SqliteStmt stmt, db_.prepare("SELECT id FROM keys WHERE name = ?1"));
  stmt.bind_text(1, key);
  EDGELOOP_ASSIGN_OR_RETURN(bool row, stmt.step());
  return row ? stmt.column_int(0) : int64_t{0};
}

Status StoreReader::load_schemas() {
  EDGELOOP_ASSIGN_OR_RETURN(SqliteStmt stmt, db_.prepare("SELECT id, fields FROM schemas"));
  while (true) {
    EDGELOOP_ASSIGN_OR_RETURN(bool row, stmt.step());
    if (!row) break;
    const int64_t id = stmt.column_int(0);
    if (schemas_.count(id)) continue;
    auto parsed = nlohmann::json::parse(stmt.column_text(1), nullptr, false);
    std::vector<std::string> names;
    if (parsed.is_array()) {
      for (const auto& n : parsed) names.push_back(n.is_string() ? n.get<std::string>() : std::string());
    }
    schemas_.emplace(id, std::move(names));
  }
  return Status::Ok();
}

Result<const std::vector<std::string>*> StoreReader::schema(int64_t id) {
  auto it = schemas_.find(id);
  if (it == schemas_.end()) {
    EDGELOOP_TRY(load_schemas());
    it = schemas_.find(id);
    if (it == schemas_.end())
      return make_error(Errc::kInternal, "store: a reading names unknown schema " + std::to_string(id));
  }
  return &it->second;
}

Result<std::vector<StoredReading>> StoreReader::raw(const ReadingQuery& q) {
  std::vector<StoredReading> out;
  EDGELOOP_ASSIGN_OR_RETURN(int64_t key_id, find_key(q.key));
  if (key_id == 0) return out;
  std::string sql = "SELECT ts_ns, schema_id, vals FROM readings WHERE key_id = ?1 AND ts_ns >= ?2 AND ts_ns < ?3";
  std::map<int64_t, int> field_at;  // schema id -> the field's index, with q.field
  if (!q.field.empty()) {
    EDGELOOP_TRY(load_schemas());
    std::string ids;
    for (const auto& [id, names] : schemas_) {
      for (std::size_t i = 0; i < names.size(); ++i) {
        if (names[i] != q.field) continue;
        field_at[id] = static_cast<int>(i);
        ids += (ids.empty() ? "" : ",") + std::to_string(id);
        break;
      }
    }
    if (ids.empty()) return out;
    sql += " AND schema_id IN (" + ids + ")";
  }
  sql += q.descending ? " ORDER BY ts_ns DESC, rowid DESC" : " ORDER BY ts_ns, rowid";
  sql += " LIMIT ?4";
  EDGELOOP_ASSIGN_OR_RETURN(SqliteStmt stmt, db_.prepare(sql));
  stmt.bind_int(1, key_id);
  stmt.bind_int(2, q.from_ns);
  stmt.bind_int(3, q.to_ns);
  stmt.bind_int(4, q.limit);
  while (true) {
    EDGELOOP_ASSIGN_OR_RETURN(bool row, stmt.step());
    if (!row) break;
    StoredReading r;
    r.ts_ns = stmt.column_int(0);
    EDGELOOP_ASSIGN_OR_RETURN(const std::vector<std::string>* names, schema(stmt.column_int(1)));
    const std::string_view blob = stmt.column_blob(2);
    const std::size_t n = std::min(names->size(), blob.size() / sizeof(double));
    auto value = [&](std::size_t i) {
      double v = 0;
      std::memcpy(&v, blob.data() + i * sizeof(double), sizeof v);
      return v;
    };
    if (!q.field.empty()) {
      const auto i = static_cast<std::size_t>(field_at[stmt.column_int(1)]);
      if (i < n) r.fields.emplace_back(q.field, value(i));
    } else {
      for (std::size_t i = 0; i < n; ++i) r.fields.emplace_back((*names)[i], value(i));
    }
    out.push_back(std::move(r));
  }
  return out;
}

Result<std::vector<StoredRollup>> StoreReader::rollups(const ReadingQuery& q) {
  EDGELOOP_ASSIGN_OR_RETURN(std::vector<int64_t> kept, rollup_intervals());
  EDGELOOP_ASSIGN_OR_RETURN(int64_t key_id, find_key(q.key));
  if (std::find(kept.begin(), kept.end(), q.rollup_ns) == kept.end()) {
    // Rows of an interval configured before (the store was reopened with other rollups)
    // stay queryable until retention takes them.
    bool old_rows = false;
    if (key_id != 0) {
      EDGELOOP_ASSIGN_OR_RETURN(SqliteStmt any,
                                db_.prepare("SELECT 1 FROM rollups WHERE key_id = ?1 AND interval_ns = ?2 LIMIT 1"));
      any.bind_int(1, key_id);
      any.bind_int(2, q.rollup_ns);
      EDGELOOP_ASSIGN_OR_RETURN(old_rows, any.step());
    }
    if (!old_rows) {
      std::string list;
      for (int64_t i : kept) list += (list.empty() ? "" : ", ") + duration_text(i);
      return make_error(Errc::kInvalidArgument, "parameter 'rollup': this store keeps no " +
                                                    duration_text(q.rollup_ns) +
                                                    " rollup (kept: " + (list.empty() ? "none" : list) + ")");
    }
  }
  std::vector<StoredRollup> out;
  if (key_id == 0) return out;
  std::string sql =
      "SELECT field, bucket_ns, min_value, max_value, sum_value, count FROM rollups "
      "WHERE key_id = ?1 AND interval_ns = ?2 AND bucket_ns > ?3 AND bucket_ns < ?4";
  if (!q.field.empty()) sql += " AND field = ?6";
  sql += q.descending ? " ORDER BY bucket_ns DESC, field" : " ORDER BY bucket_ns, field";
  sql += " LIMIT ?5";
  EDGELOOP_ASSIGN_OR_RETURN(SqliteStmt stmt, db_.prepare(sql));
  stmt.bind_int(1, key_id);
  stmt.bind_int(2, q.rollup_ns);
  // An interval overlaps [from, to) when it starts after from - interval.
  const int64_t after = q.from_ns < std::numeric_limits<int64_t>::min() + q.rollup_ns
                            ? std::numeric_limits<int64_t>::min()
                            : q.from_ns - q.rollup_ns;
  stmt.bind_int(3, after);
  stmt.bind_int(4, q.to_ns);
  stmt.bind_int(5, q.limit);
  if (!q.field.empty()) stmt.bind_text(6, q.field);
  while (true) {
    EDGELOOP_ASSIGN_OR_RETURN(bool row, stmt.step());
    if (!row) break;
    StoredRollup r;
    r.field = std::string(stmt.column_text(0));
    r.bucket_ns = stmt.column_int(1);
    r.interval_ns = q.rollup_ns;
    r.min = stmt.column_double(2);
    r.max = stmt.column_double(3);
    r.count = stmt.column_int(5);
    r.mean = r.count > 0 ? stmt.column_double(4) / static_cast<double>(r.count) : std::nan("");
    out.push_back(std::move(r));
  }
  return out;
}

Result<std::vector<StoredEvent>> StoreReader::events(const EventQuery& q) {
  std::string sql = "SELECT id, ts_ns, json FROM events WHERE ts_ns >= ?1 AND ts_ns < ?2";
  if (!q.key.empty()) sql += " AND key = ?4";
  if (!q.kind.empty()) sql += " AND kind = ?5";
  if (!q.pipeline.empty()) sql += " AND pipeline = ?6";
  if (!q.state.empty()) sql += " AND state = ?7";
  sql += q.descending ? " ORDER BY ts_ns DESC, id DESC" : " ORDER BY ts_ns, id";
  sql += " LIMIT ?3";
  EDGELOOP_ASSIGN_OR_RETURN(SqliteStmt stmt, db_.prepare(sql));
  stmt.bind_int(1, q.from_ns);
  stmt.bind_int(2, q.to_ns);
  stmt.bind_int(3, q.limit);
  if (!q.key.empty()) stmt.bind_text(4, q.key);
  if (!q.kind.empty()) stmt.bind_text(5, q.kind);
  if (!q.pipeline.empty()) stmt.bind_text(6, q.pipeline);
  if (!q.state.empty()) stmt.bind_text(7, q.state);
  std::vector<StoredEvent> out;
  while (true) {
    EDGELOOP_ASSIGN_OR_RETURN(bool row, stmt.step());
    if (!row) break;
    out.push_back(StoredEvent{stmt.column_int(0), stmt.column_int(1), std::string(stmt.column_text(2))});
  }
  return out;
}

Result<std::vector<std::string>> StoreReader::readings_json(const ReadingQuery& q) {
  std::vector<std::string> out;
  if (q.rollup_ns > 0) {
    EDGELOOP_ASSIGN_OR_RETURN(auto rows, rollups(q));
    for (const auto& r : rows) out.push_back(rollup_json(q.key, r));
  } else {
    EDGELOOP_ASSIGN_OR_RETURN(auto rows, raw(q));
    for (const auto& r : rows) out.push_back(reading_json(q.key, r));
  }
  return out;
}

Result<std::vector<std::string>> StoreReader::events_json(const EventQuery& q) {
  EDGELOOP_ASSIGN_OR_RETURN(auto rows, events(q));
  std::vector<std::string> out;
  out.reserve(rows.size());
  for (auto& r : rows) out.push_back(std::move(r.json));
  return out;
}

}  // namespace edgeloop::store
