#include "api/health.h"

#include <nlohmann/json.hpp>

namespace edgeloop {

std::string health_json(const HealthReport& report) {
  // nlohmann throws on invalid UTF-8 when dumping (`replace` avoids that) and on allocation.
  try {
    nlohmann::ordered_json components = nlohmann::ordered_json::array();
    for (const auto& c : report.components) {
      components.push_back({{"name", c.name}, {"kind", c.kind}, {"state", c.state}});
    }
    nlohmann::ordered_json j = {{"status", report.status}, {"components", std::move(components)}};
    return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  } catch (const std::exception&) {
    return R"({"status":"down","components":[],"error":"health report could not be rendered"})";
  }
}

int health_http_status(const std::string& status) {
  return status == "ok" || status == "degraded" ? 200 : 503;
}

}  // namespace edgeloop
