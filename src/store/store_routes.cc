#include "store/store_routes.h"

#include <httplib.h>

#include <nlohmann/json.hpp>

#include "core/clock.h"

namespace edgeloop::store {

namespace {

using Stores = std::shared_ptr<const std::vector<std::shared_ptr<Store>>>;

int http_status(Errc code) {
  switch (code) {
    case Errc::kInvalidArgument:
    case Errc::kParse:
    case Errc::kTypeMismatch:
    case Errc::kTooLarge:
      return 400;
    case Errc::kNotFound:
      return 404;
    case Errc::kUnavailable:
      return 503;
    default:
      return 500;
  }
}

void send_error(httplib::Response& res, int status, const std::string& message) {
  nlohmann::json j;
  j["error"] = message;
  res.status = status;
  res.set_content(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), "application/json");
}

void send_rows(httplib::Response& res, const std::vector<std::string>& rows) {
  std::string body = "[";
  std::size_t size = 2;
  for (const auto& r : rows) size += r.size() + 1;
  body.reserve(size);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (i) body += ',';
    body += rows[i];
  }
  body += "]";
  res.status = 200;
  res.set_content(body, "application/json");
}

// The query's parameters (the last of repeated ones) and the store it names.
Store* select(const Stores& stores, const httplib::Request& req, QueryParams& params, httplib::Response& res) {
  for (const auto& [name, value] : req.params) params[name] = value;
  Store* store = stores->front().get();
  if (auto it = params.find("db"); it != params.end()) {
    store = nullptr;
    for (const auto& s : *stores) {
      if (s->path() == it->second) store = s.get();
    }
    if (!store) {
      send_error(res, 404, "no store open at '" + it->second + "'");
      return nullptr;
    }
    params.erase(it);
  }
  return store;
}

template <class Parse, class Run>
void answer(const Stores& stores, const httplib::Request& req, httplib::Response& res, Parse parse, Run run) {
  QueryParams params;
  Store* store = select(stores, req, params, res);
  if (!store) return;
  auto q = parse(params, unix_now_ns());
  if (!q.ok()) return send_error(res, 400, q.error().message);
  auto rows = run(*store, *q);
  if (!rows.ok()) return send_error(res, http_status(rows.error().code), rows.error().message);
  send_rows(res, *rows);
}

}  // namespace

void register_store_routes(ApiServer& api, std::vector<std::shared_ptr<Store>> stores) {
  if (stores.empty()) return;
  auto shared = std::make_shared<const std::vector<std::shared_ptr<Store>>>(std::move(stores));
  api.add_get("/api/v1/readings", [shared](const httplib::Request& req, httplib::Response& res) {
    answer(shared, req, res, reading_query_from, [](Store& s, const ReadingQuery& q) { return s.readings_json(q); });
  });
  api.add_get("/api/v1/events", [shared](const httplib::Request& req, httplib::Response& res) {
    answer(shared, req, res, event_query_from, [](Store& s, const EventQuery& q) { return s.events_json(q); });
  });
}

}  // namespace edgeloop::store
