#include "models/serving/model_routes.h"

#include "api/auth.h"

#include <httplib.h>

#include <nlohmann/json.hpp>

namespace edgeloop::models {
namespace {

using nlohmann::json;

json tensors(const std::vector<TensorInfo>& ts) {
  json a = json::array();
  for (const auto& t : ts) a.push_back(json{{"name", t.name}, {"shape", t.shape}});
  return a;
}

json to_json(const ModelVersionInfo& m) {
  return json{{"name", m.name},
              {"version", m.version},
              {"file", m.file},
              {"fingerprint", m.fingerprint},
              {"backend", m.backend},
              {"loaded_at_ns", m.loaded_at_ns},
              {"inputs", tensors(m.inputs)},
              {"outputs", tensors(m.outputs)},
              {"watch", m.watch},
              {"last_error", m.last_error},
              {"rejected", m.rejected}};
}

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

void reply_error(httplib::Response& res, int status, const std::string& message) {
  res.status = status;
  res.set_content(dump(json{{"error", message}}), "application/json");
}

}  // namespace

void register_model_routes(ApiServer& api, ModelCatalog& catalog) {
  api.add_get("/api/v1/models", [&catalog](const httplib::Request&, httplib::Response& res) {
    json a = json::array();
    for (const auto& m : catalog.list()) a.push_back(to_json(m));
    res.set_content(dump(json{{"models", a}}), "application/json");
  });
  // Swapping a model changes what the loop does: admin.
  api.add_post("/api/v1/models/([A-Za-z0-9_.-]+)", [&catalog](const httplib::Request& req, httplib::Response& res) {
    const std::string name = req.matches[1];
    auto r = catalog.upload(name, req.body);
    if (r.ok()) {
      res.set_content(dump(to_json(*r)), "application/json");
      return;
    }
    switch (r.error().code) {
      case Errc::kNotFound: reply_error(res, 404, r.error().message); break;
      case Errc::kInvalidArgument:
      case Errc::kParse: reply_error(res, 422, r.error().message); break;
      case Errc::kUnavailable: reply_error(res, 503, r.error().message); break;
      default: reply_error(res, 500, r.error().message); break;
    }
  }, Role::kAdmin);
}

}  // namespace edgeloop::models
