#include "fleet/fleet_state.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <limits>
#include <nlohmann/json.hpp>

namespace edgeloop::fleet {

namespace {

using Json = nlohmann::json;
using Fields = std::vector<std::pair<std::string, double>>;

constexpr int kSnapshotVersion = 1;

int severity_rank(std::string_view s) {
  if (s == "critical") return 3;
  if (s == "warning") return 2;
  if (s == "info") return 1;
  return 0;
}

const char* health_of_rank(int rank) {
  switch (rank) {
    case 3:
      return "critical";
    case 2:
      return "warning";
    case 1:
      return "info";
    default:
      return "ok";
  }
}

Json fields_json(const Fields& fields) {
  Json j = Json::object();
  for (const auto& [name, v] : fields) j[name] = std::isfinite(v) ? Json(v) : Json(nullptr);
  return j;
}

Fields fields_of(const Json& j) {
  Fields out;
  if (!j.is_object()) return out;
  for (const auto& [name, v] : j.items()) {
    out.emplace_back(name, v.is_number() ? v.get<double>() : std::numeric_limits<double>::quiet_NaN());
  }
  return out;
}

std::string dump(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

bool matches(const std::string& filter, const std::string& value) {
  return filter.empty() || filter == value;
}

// Per (gateway, key): how many alerts are open and the worst severity among them.
struct OpenSummary {
  int count = 0;
  int worst = 0;
};

}  // namespace

FleetState::FleetState(FleetLimits limits) : limits_(limits) {}

void FleetState::clear() {
  *this = FleetState(limits_);
}

bool FleetState::remember(const std::string& id) {
  if (!ids_.insert(id).second) return false;
  id_order_.push_back(id);
  while (id_order_.size() > limits_.dedup_ids) {
    ids_.erase(id_order_.front());
    id_order_.pop_front();
  }
  return true;
}

void FleetState::note_sequence(uint64_t stream_seq) {
  last_stream_seq_ = std::max(last_stream_seq_, stream_seq);
}

ApplyOutcome FleetState::apply(const FleetEvent& e, const std::string& id, uint64_t stream_seq, int64_t received_ns) {
  note_sequence(stream_seq);
  if (!id.empty() && limits_.dedup_ids > 0 && !remember(id)) return ApplyOutcome::kDuplicate;

  GatewayState& gw = gateways_[e.gateway];
  gw.events++;
  gw.last_event_ns = std::max(gw.last_event_ns, e.ts_ns);
  gw.last_received_ns = received_ns;
  AssetState& asset = assets_[{e.gateway, e.key}];
  asset.events++;
  asset.last_event_ns = std::max(asset.last_event_ns, e.ts_ns);
  asset.last_received_ns = received_ns;

  ApplyOutcome outcome = ApplyOutcome::kApplied;
  switch (e.kind) {
    case FleetKind::kInsight: {
      InsightState& in = asset.insights[{e.pipeline, e.stage}];
      if (in.ts_ns > e.ts_ns) {
        outcome = ApplyOutcome::kOutOfOrder;
      } else {
        in.ts_ns = e.ts_ns;
        in.id = id;
        in.fields = e.fields;
      }
      break;
    }
    case FleetKind::kCommand:
      if (e.ts_ns >= asset.last_command_ns) {
        asset.last_command_ns = e.ts_ns;
        asset.last_command = e.pipeline + "/" + e.stage;
      } else {
        outcome = ApplyOutcome::kOutOfOrder;
      }
      break;
    case FleetKind::kAlert:
      apply_alert(e, id, outcome);
      break;
  }
  return outcome;
}

void FleetState::apply_alert(const FleetEvent& e, const std::string& id, ApplyOutcome& outcome) {
  AlertKey key{e.gateway, e.pipeline, e.stage, e.key};
  auto it = alerts_.find(key);
  if (it == alerts_.end()) {
    it = alerts_.emplace(std::move(key), AlertRecord{}).first;
  } else if (e.ts_ns < it->second.changed_ns) {
    // An older transition than the one shown (a late redelivery or a replayed backlog).
    outcome = ApplyOutcome::kOutOfOrder;
    return;
  }
  AlertRecord& a = it->second;
  const bool was_open = a.open;
  a.open = e.state == FleetAlertState::kRaised;
  if (a.open) {
    a.raised_ns = e.ts_ns;
    a.severity = e.severity;
  } else if (a.severity.empty()) {
    a.severity = e.severity;
  }
  a.changed_ns = e.ts_ns;
  a.id = id;
  a.fields = e.fields;
  if (a.open && !was_open) open_alerts_++;
  if (!a.open && was_open) open_alerts_--;
}

std::vector<AlertKey> FleetState::open_alerts() const {
  std::vector<AlertKey> out;
  for (const auto& [k, a] : alerts_) {
    if (a.open) out.push_back(k);
  }
  return out;
}

std::string FleetState::gateways_json(const FleetQuery& q, int64_t now_ns, int64_t stale_after_ns) const {
  std::map<std::string, OpenSummary> open;
  for (const auto& [k, a] : alerts_) {
    if (!a.open) continue;
    OpenSummary& s = open[std::get<0>(k)];
    s.count++;
    s.worst = std::max(s.worst, severity_rank(a.severity));
  }
  std::map<std::string, std::size_t> asset_counts;
  for (const auto& [k, a] : assets_) asset_counts[k.first]++;
  Json list = Json::array();
  for (const auto& [name, g] : gateways_) {
    if (!matches(q.gateway, name)) continue;
    const OpenSummary s = open.count(name) ? open.at(name) : OpenSummary{};
    if (!q.severity.empty() && q.severity != health_of_rank(s.worst)) continue;
    list.push_back({{"gateway", name},
                    {"events", g.events},
                    {"assets", asset_counts[name]},
                    {"open_alerts", s.count},
                    {"health", health_of_rank(s.worst)},
                    {"last_event_ns", g.last_event_ns},
                    {"last_received_ns", g.last_received_ns},
                    {"stale", stale_after_ns > 0 && now_ns - g.last_received_ns > stale_after_ns}});
  }
  const std::size_t n = list.size();
  return dump(Json{{"gateways", std::move(list)}, {"count", n}});
}

std::string FleetState::assets_json(const FleetQuery& q) const {
  std::map<std::pair<std::string, std::string>, OpenSummary> open;
  for (const auto& [k, a] : alerts_) {
    if (!a.open) continue;
    OpenSummary& s = open[{std::get<0>(k), std::get<3>(k)}];
    s.count++;
    s.worst = std::max(s.worst, severity_rank(a.severity));
  }
  Json list = Json::array();
  for (const auto& [k, a] : assets_) {
    if (!matches(q.gateway, k.first) || !matches(q.key, k.second)) continue;
    const auto o = open.find(k);
    const OpenSummary s = o == open.end() ? OpenSummary{} : o->second;
    if (!q.severity.empty() && q.severity != health_of_rank(s.worst)) continue;
    Json insights = Json::array();
    for (const auto& [ps, in] : a.insights) {
      insights.push_back({{"pipeline", ps.first},
                          {"stage", ps.second},
                          {"ts_ns", in.ts_ns},
                          {"id", in.id},
                          {"fields", fields_json(in.fields)}});
    }
    Json item = {{"gateway", k.first},
                 {"key", k.second},
                 {"events", a.events},
                 {"open_alerts", s.count},
                 {"health", health_of_rank(s.worst)},
                 {"last_event_ns", a.last_event_ns},
                 {"last_received_ns", a.last_received_ns},
                 {"insights", std::move(insights)}};
    if (!a.last_command.empty()) item["last_command"] = {{"name", a.last_command}, {"ts_ns", a.last_command_ns}};
    list.push_back(std::move(item));
  }
  const std::size_t n = list.size();
  return dump(Json{{"assets", std::move(list)}, {"count", n}});
}

std::string FleetState::alerts_json(const FleetQuery& q) const {
  Json list = Json::array();
  for (const auto& [k, a] : alerts_) {
    if (!a.open) continue;
    const auto& [gateway, pipeline, stage, key] = k;
    if (!matches(q.gateway, gateway) || !matches(q.key, key) || !matches(q.severity, a.severity)) continue;
    list.push_back({{"gateway", gateway},
                    {"pipeline", pipeline},
                    {"stage", stage},
                    {"key", key},
                    {"severity", a.severity},
                    {"raised_ns", a.raised_ns},
                    {"id", a.id},
                    {"fields", fields_json(a.fields)}});
  }
  const std::size_t n = list.size();
  return dump(Json{{"alerts", std::move(list)}, {"count", n}});
}

std::string FleetState::to_snapshot(const std::string& stream, const std::string& durable) const {
  Json gws = Json::array();
  for (const auto& [name, g] : gateways_) {
    gws.push_back({{"gateway", name},
                   {"events", g.events},
                   {"last_event_ns", g.last_event_ns},
                   {"last_received_ns", g.last_received_ns}});
  }
  Json assets = Json::array();
  for (const auto& [k, a] : assets_) {
    Json insights = Json::array();
    for (const auto& [ps, in] : a.insights) {
      insights.push_back({{"pipeline", ps.first},
                          {"stage", ps.second},
                          {"ts_ns", in.ts_ns},
                          {"id", in.id},
                          {"fields", fields_json(in.fields)}});
    }
    assets.push_back({{"gateway", k.first},
                      {"key", k.second},
                      {"events", a.events},
                      {"last_event_ns", a.last_event_ns},
                      {"last_received_ns", a.last_received_ns},
                      {"last_command", a.last_command},
                      {"last_command_ns", a.last_command_ns},
                      {"insights", std::move(insights)}});
  }
  Json alerts = Json::array();
  for (const auto& [k, a] : alerts_) {
    const auto& [gateway, pipeline, stage, key] = k;
    alerts.push_back({{"gateway", gateway},
                      {"pipeline", pipeline},
                      {"stage", stage},
                      {"key", key},
                      {"open", a.open},
                      {"severity", a.severity},
                      {"changed_ns", a.changed_ns},
                      {"raised_ns", a.raised_ns},
                      {"id", a.id},
                      {"fields", fields_json(a.fields)}});
  }
  Json ids = Json::array();
  for (const auto& id : id_order_) ids.push_back(id);
  return dump(Json{{"version", kSnapshotVersion},
                   {"stream", stream},
                   {"durable", durable},
                   {"last_stream_seq", last_stream_seq_},
                   {"stream_created_ns", stream_created_ns_},
                   {"gateways", std::move(gws)},
                   {"assets", std::move(assets)},
                   {"alerts", std::move(alerts)},
                   {"ids", std::move(ids)}});
}

Result<FleetState> FleetState::from_snapshot(std::string_view json, const std::string& stream,
                                             const std::string& durable, FleetLimits limits) {
  const Json j = Json::parse(json.begin(), json.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return make_error(Errc::kParse, "the state file is not valid JSON");
  try {
    if (j.value("version", 0) != kSnapshotVersion) {
      return make_error(Errc::kParse,
                        "the state file has an unknown version (expected " + std::to_string(kSnapshotVersion) + ")");
    }
    if (j.at("stream").get<std::string>() != stream || j.at("durable").get<std::string>() != durable) {
      return make_error(Errc::kInvalidArgument, "the state file belongs to stream '" +
                                                    j.at("stream").get<std::string>() + "', durable '" +
                                                    j.at("durable").get<std::string>() + "', not to stream '" + stream +
                                                    "', durable '" + durable + "'");
    }
    FleetState s(limits);
    s.last_stream_seq_ = j.at("last_stream_seq").get<uint64_t>();
    s.stream_created_ns_ = j.at("stream_created_ns").get<int64_t>();
    for (const auto& g : j.at("gateways")) {
      GatewayState& gw = s.gateways_[g.at("gateway").get<std::string>()];
      gw.events = g.at("events").get<uint64_t>();
      gw.last_event_ns = g.at("last_event_ns").get<int64_t>();
      gw.last_received_ns = g.at("last_received_ns").get<int64_t>();
    }
    for (const auto& a : j.at("assets")) {
      AssetState& as = s.assets_[{a.at("gateway").get<std::string>(), a.at("key").get<std::string>()}];
      as.events = a.at("events").get<uint64_t>();
      as.last_event_ns = a.at("last_event_ns").get<int64_t>();
      as.last_received_ns = a.at("last_received_ns").get<int64_t>();
      as.last_command = a.at("last_command").get<std::string>();
      as.last_command_ns = a.at("last_command_ns").get<int64_t>();
      for (const auto& in : a.at("insights")) {
        InsightState& is = as.insights[{in.at("pipeline").get<std::string>(), in.at("stage").get<std::string>()}];
        is.ts_ns = in.at("ts_ns").get<int64_t>();
        is.id = in.at("id").get<std::string>();
        is.fields = fields_of(in.at("fields"));
      }
    }
    for (const auto& a : j.at("alerts")) {
      AlertKey k{a.at("gateway").get<std::string>(), a.at("pipeline").get<std::string>(),
                 a.at("stage").get<std::string>(), a.at("key").get<std::string>()};
      AlertRecord& st = s.alerts_[std::move(k)];
      st.open = a.at("open").get<bool>();
      st.severity = a.at("severity").get<std::string>();
      st.changed_ns = a.at("changed_ns").get<int64_t>();
      st.raised_ns = a.at("raised_ns").get<int64_t>();
      st.id = a.at("id").get<std::string>();
      st.fields = fields_of(a.at("fields"));
      if (st.open) s.open_alerts_++;
    }
    for (const auto& id : j.at("ids")) s.remember(id.get<std::string>());
    return s;
  } catch (const std::exception& e) {
    return make_error(Errc::kParse, std::string("the state file is malformed: ") + e.what());
  }
}

}  // namespace edgeloop::fleet
