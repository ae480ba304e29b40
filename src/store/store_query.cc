#include "store/store_query.h"

#include <nlohmann/json.hpp>
#include <set>

#include "core/options.h"
#include "store/time_spec.h"

namespace edgeloop::store {

namespace {

Error bad_param(const std::string& name, const std::string& why) {
  return make_error(Errc::kInvalidArgument, "parameter '" + name + "': " + why);
}

Status check_known(const QueryParams& params, const std::set<std::string>& known) {
  for (const auto& [name, value] : params) {
    (void)value;
    if (known.count(name)) continue;
    std::string list;
    for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
    return make_error(Errc::kInvalidArgument, "unknown parameter '" + name + "' (known: " + list + ")");
  }
  return Status::Ok();
}

const std::string* find(const QueryParams& params, const char* name) {
  auto it = params.find(name);
  return it == params.end() ? nullptr : &it->second;
}

// from, to, limit, order: common to both queries.
template <class Q>
Status common(const QueryParams& params, int64_t now_ns, Q& q) {
  if (const auto* v = find(params, "from"); v && !v->empty()) {
    auto t = parse_time_ns(*v, now_ns);
    if (!t.ok()) return bad_param("from", t.error().message);
    q.from_ns = *t;
  }
  if (const auto* v = find(params, "to"); v && !v->empty()) {
    auto t = parse_time_ns(*v, now_ns);
    if (!t.ok()) return bad_param("to", t.error().message);
    q.to_ns = *t;
  }
  if (q.from_ns >= q.to_ns) return bad_param("to", "the range is empty: 'to' must be after 'from'");
  if (const auto* v = find(params, "limit"); v && !v->empty()) {
    auto n = parse_int(*v);
    if (!n.ok() || *n < 1 || *n > kMaxQueryLimit) {
      return bad_param("limit",
                       "expected an integer from 1 to " + std::to_string(kMaxQueryLimit) + ", got '" + *v + "'");
    }
    q.limit = *n;
  }
  if (const auto* v = find(params, "order"); v && !v->empty()) {
    if (*v != "asc" && *v != "desc") return bad_param("order", "expected asc or desc, got '" + *v + "'");
    q.descending = *v == "desc";
  }
  return Status::Ok();
}

void put_number(nlohmann::ordered_json& j, const char* name, double v) {
  if (std::isfinite(v))
    j[name] = v;
  else
    j[name] = nullptr;
}

}  // namespace

Result<ReadingQuery> reading_query_from(const QueryParams& params, int64_t now_ns) {
  EDGELOOP_TRY(check_known(params, {"key", "from", "to", "field", "rollup", "limit", "order"}));
  ReadingQuery q;
  const auto* key = find(params, "key");
  if (!key || key->empty()) return bad_param("key", "required: the stream key whose readings to return");
  q.key = *key;
  EDGELOOP_TRY(common(params, now_ns, q));
  if (const auto* v = find(params, "field")) q.field = *v;
  if (const auto* v = find(params, "rollup"); v && !v->empty() && *v != "raw") {
    auto d = parse_duration_ns(*v);
    if (!d.ok() || *d <= 0) return bad_param("rollup", "expected a rollup interval like 1m, or raw, got '" + *v + "'");
    q.rollup_ns = *d;
  }
  return q;
}

Result<EventQuery> event_query_from(const QueryParams& params, int64_t now_ns) {
  EDGELOOP_TRY(check_known(params, {"key", "kind", "pipeline", "state", "from", "to", "limit", "order"}));
  EventQuery q;
  if (const auto* v = find(params, "key")) q.key = *v;
  if (const auto* v = find(params, "pipeline")) q.pipeline = *v;
  if (const auto* v = find(params, "kind"); v && !v->empty()) {
    if (*v != "alert" && *v != "insight" && *v != "command") {
      return bad_param("kind", "expected alert, insight or command, got '" + *v + "'");
    }
    q.kind = *v;
  }
  if (const auto* v = find(params, "state"); v && !v->empty()) {
    if (*v != "raised" && *v != "cleared" && *v != "none") {
      return bad_param("state", "expected raised, cleared or none, got '" + *v + "'");
    }
    q.state = *v;
  }
  EDGELOOP_TRY(common(params, now_ns, q));
  return q;
}

std::string reading_json(const std::string& key, const StoredReading& r) {
  nlohmann::ordered_json j;
  j["key"] = key;
  j["ts_ns"] = r.ts_ns;
  nlohmann::ordered_json fields = nlohmann::ordered_json::object();
  for (const auto& [name, v] : r.fields) put_number(fields, name.c_str(), v);
  j["fields"] = std::move(fields);
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

std::string rollup_json(const std::string& key, const StoredRollup& r) {
  nlohmann::ordered_json j;
  j["key"] = key;
  j["field"] = r.field;
  j["interval_ns"] = r.interval_ns;
  j["ts_ns"] = r.bucket_ns;
  put_number(j, "min", r.min);
  put_number(j, "mean", r.mean);
  put_number(j, "max", r.max);
  j["count"] = r.count;
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace edgeloop::store
