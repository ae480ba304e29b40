#include "api/live_routes.h"

#include <httplib.h>

#include <nlohmann/json.hpp>
#include <set>

#include "api/auth.h"
#include "core/clock.h"

namespace edgeloop {

namespace {

using nlohmann::json;

constexpr int64_t kTakeWaitNs = 200'000'000;        // how often an idle feed checks for stop
constexpr int64_t kKeepAliveNs = 15'000'000'000;    // a comment line keeps proxies from closing

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

void reply_error(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  res.set_content(dump(json{{"error", message}}), "application/json");
}

int status_of(const Error& e) {
  switch (e.code) {
    case Errc::kNotFound: return 404;
    case Errc::kInvalidArgument:
    case Errc::kParse:
    case Errc::kTooLarge: return 400;
    default: return 500;
  }
}

std::vector<std::string> split_keys(const std::string& s) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while (at <= s.size() && !s.empty()) {
    const std::size_t comma = s.find(',', at);
    std::string k = s.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
    if (!k.empty()) out.push_back(std::move(k));
    if (comma == std::string::npos) break;
    at = comma + 1;
  }
  return out;
}

json values_json(const LiveStream& s) {
  json v = json::object();
  for (uint8_t i = 0; i < s.nfields && s.fields && i < s.fields->size(); ++i) v[(*s.fields)[i]] = s.last[i];
  return v;
}

// The body's string member `name`, or "" (no body, or not a JSON object); an error for a
// body that is not JSON.
Result<std::string> body_member(const httplib::Request& req, const char* name) {
  if (req.body.empty()) return std::string();
  json j = json::parse(req.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return make_error(Errc::kInvalidArgument, "the body is not a JSON object");
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) return std::string();
  if (!it->is_string()) return make_error(Errc::kInvalidArgument, std::string("'") + name + "' is not a string");
  return it->get<std::string>();
}

void serve_live(const httplib::Request& req, httplib::Response& res, ApiServer& api, LiveHub& hub) {
  auto client = hub.subscribe(split_keys(req.get_param_value("keys")));
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");
  auto last_write = std::make_shared<int64_t>(mono_now_ns());
  auto first = std::make_shared<bool>(true);
  res.set_chunked_content_provider(
      "text/event-stream",
      [client, &api, last_write, first](std::size_t, httplib::DataSink& sink) {
        if (api.stopping()) {
          sink.done();
          return true;
        }
        std::string out;
        if (*first) {
          out = "retry: 2000\n\n";  // the headers and this go out at once: the client knows it is connected
          *first = false;
        } else if (!client->take(out, kTakeWaitNs)) {
          sink.done();
          return true;
        }
        const int64_t now = mono_now_ns();
        if (out.empty() && now - *last_write >= kKeepAliveNs) out = ": keep-alive\n\n";
        if (out.empty()) return true;
        *last_write = now;
        // A write that fails (the client went away, or did not read for the write timeout)
        // ends this feed; the hub only ever appended to its buffer.
        return sink.write(out.data(), out.size());
      },
      [&hub, client](bool) { hub.unsubscribe(client); });
}

void serve_streams(httplib::Response& res, LiveHub& hub) {
  json out = json::array();
  hub.with_state([&](const LiveState& st) {
    for (const auto& [id, s] : st.streams) {
      json j;
      j["key"] = s.key;
      j["pipeline"] = s.pipeline;
      j["stage"] = s.stage;
      j["fields"] = s.fields ? json(*s.fields) : json::array();
      j["last"] = {{"ts_ns", s.last_ts_ns}, {"values", values_json(s)}};
      out.push_back(std::move(j));
    }
  });
  res.set_content(dump(out), "application/json");
}

void serve_history(const httplib::Request& req, httplib::Response& res, LiveHub& hub) {
  const std::string key = req.get_param_value("key");
  const std::string pipeline = req.get_param_value("pipeline");
  if (key.empty() || pipeline.empty()) return reply_error(res, 400, "key and pipeline are required");
  std::size_t points = hub.options().history_points;
  if (req.has_param("points")) {
    auto n = parse_int(req.get_param_value("points"));
    if (!n.ok() || *n < 1) return reply_error(res, 400, "points must be an integer >= 1");
    points = std::min<std::size_t>(points, static_cast<std::size_t>(*n));
  }
  json series = json::array();
  hub.with_state([&](const LiveState& st) {
    std::vector<int64_t> ts;
    std::vector<std::vector<double>> values;
    for (const auto& [id, s] : st.streams) {
      if (s.key != key || s.pipeline != pipeline) continue;
      s.tail(points, ts, values);
      json j;
      j["stage"] = s.stage;
      std::vector<std::string> fields;
      for (std::size_t i = 0; i < values.size() && s.fields && i < s.fields->size(); ++i) fields.push_back((*s.fields)[i]);
      j["fields"] = fields;
      j["ts_ns"] = ts;
      json v = json::object();
      for (std::size_t i = 0; i < fields.size(); ++i) v[fields[i]] = values[i];  // NaN (a missing field): null
      j["values"] = std::move(v);
      series.push_back(std::move(j));
    }
  });
  if (series.empty()) return reply_error(res, 404, "no stream for key '" + key + "' in pipeline '" + pipeline + "'");
  res.set_content(dump(json{{"key", key}, {"pipeline", pipeline}, {"series", std::move(series)}}), "application/json");
}

void serve_overview(httplib::Response& res, LiveHub& hub, std::size_t pipelines, const std::vector<Threshold>& thresholds) {
  struct Asset {
    std::set<std::string> pipelines;
    int64_t last_ts_ns = 0;
    json values = json::object();
    std::map<std::pair<std::string, std::string>, double> by_pipeline;
    int open = 0;
  };
  std::map<std::string, Asset> assets;
  uint64_t events = 0;
  hub.with_state([&](const LiveState& st) {
    for (const auto& [id, s] : st.streams) {
      Asset& a = assets[s.key];
      a.pipelines.insert(s.pipeline);
      a.last_ts_ns = std::max(a.last_ts_ns, s.last_ts_ns);
      for (uint8_t i = 0; i < s.nfields && s.fields && i < s.fields->size(); ++i) {
        a.values[(*s.fields)[i]] = s.last[i];
        a.by_pipeline[{s.pipeline, (*s.fields)[i]}] = s.last[i];
      }
    }
    for (const Alert* al : st.alerts.list(true)) {
      Asset& a = assets[al->key];
      a.pipelines.insert(al->pipeline);
      ++a.open;
    }
    events = st.events_total;
  });
  json list = json::array();
  for (auto& [key, a] : assets) {
    json j;
    j["key"] = key;
    j["pipelines"] = a.pipelines;
    j["health"] = asset_health(a.open, a.by_pipeline, thresholds);
    j["open_alerts"] = a.open;
    j["last_ts_ns"] = a.last_ts_ns;
    j["values"] = std::move(a.values);
    list.push_back(std::move(j));
  }
  res.set_content(dump(json{{"assets", std::move(list)}, {"pipelines", pipelines}, {"events_total", events}}),
                  "application/json");
}

void serve_alerts(const httplib::Request& req, httplib::Response& res, LiveHub& hub) {
  const std::string state = req.has_param("state") ? req.get_param_value("state") : "all";
  if (state != "open" && state != "all") return reply_error(res, 400, "state must be open or all");
  std::string out = "[";
  hub.with_state([&](const LiveState& st) {
    bool first = true;
    for (const Alert* a : st.alerts.list(state == "open")) {
      if (!first) out += ',';
      first = false;
      out += alert_json(*a);
    }
  });
  out += ']';
  res.set_content(out, "application/json");
}

void reply_alert(httplib::Response& res, Result<std::string> r) {
  if (!r.ok()) return reply_error(res, status_of(r.error()), r.error().message);
  res.set_content(*r, "application/json");
}

}  // namespace

const char* asset_health(int open_alerts, const std::map<std::pair<std::string, std::string>, double>& values,
                         const std::vector<Threshold>& thresholds) {
  if (open_alerts > 0) return "alert";
  for (const auto& t : thresholds) {
    if (t.kind != "when" || (t.op != ">" && t.op != ">=") || t.value <= 0) continue;
    auto it = values.find({t.pipeline, t.field});
    if (it != values.end() && it->second > 0.8 * t.value) return "warning";
  }
  return "ok";
}

void register_live_routes(ApiServer& api, LiveHub& hub, std::size_t pipelines, std::vector<Threshold> thresholds) {
  auto th = std::make_shared<const std::vector<Threshold>>(std::move(thresholds));
  api.add_get("/api/v1/live", [&api, &hub](const httplib::Request& req, httplib::Response& res) {
    serve_live(req, res, api, hub);
  }, Role::kRead);
  api.add_get("/api/v1/streams", [&hub](const httplib::Request&, httplib::Response& res) {
    serve_streams(res, hub);
  }, Role::kRead);
  api.add_get("/api/v1/streams/history", [&hub](const httplib::Request& req, httplib::Response& res) {
    serve_history(req, res, hub);
  }, Role::kRead);
  api.add_get("/api/v1/overview", [&hub, pipelines, th](const httplib::Request&, httplib::Response& res) {
    serve_overview(res, hub, pipelines, *th);
  }, Role::kRead);
  api.add_get("/api/v1/alerts", [&hub](const httplib::Request& req, httplib::Response& res) {
    serve_alerts(req, res, hub);
  }, Role::kRead);
  api.add_post("/api/v1/alerts/([^/]+)/ack", [&hub](const httplib::Request& req, httplib::Response& res) {
    auto comment = body_member(req, "comment");
    if (!comment.ok()) return reply_error(res, 400, comment.error().message);
    reply_alert(res, hub.ack(req.matches[1].str(), caller_of(req).name, *comment, unix_now_ns()));
  }, Role::kOperate);
  api.add_post("/api/v1/alerts/([^/]+)/comments", [&hub](const httplib::Request& req, httplib::Response& res) {
    auto text = body_member(req, "text");
    if (!text.ok()) return reply_error(res, 400, text.error().message);
    reply_alert(res, hub.comment(req.matches[1].str(), caller_of(req).name, *text, unix_now_ns()));
  }, Role::kOperate);
}

void register_live_routes(ApiServer& api, Runtime& runtime, LiveHub& hub, std::vector<Threshold> thresholds) {
  register_live_routes(api, hub, runtime.pipeline_names().size(), std::move(thresholds));
}

void attach_live_hub(Runtime& runtime, LiveHub& hub) {
  const KeyTable* keys = &runtime.keys();
  runtime.add_event_listener([&hub, keys](const Event& e) { hub.on_event(e, keys); });
}

}  // namespace edgeloop
