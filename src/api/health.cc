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

std::string components_json(const HealthReport& report) {
  try {
    nlohmann::ordered_json components = nlohmann::ordered_json::array();
    for (const auto& c : report.components) {
      components.push_back({{"name", c.name}, {"type", c.kind}, {"health", c.state}});
    }
    nlohmann::ordered_json j = {{"status", report.status}, {"components", std::move(components)}};
    return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  } catch (const std::exception&) {
    return R"({"status":"down","components":[],"error":"components could not be rendered"})";
  }
}

void export_health_metrics(const HealthReport& report, Metrics& metrics) {
  static constexpr const char* kStates[] = {"connecting", "connected", "degraded", "down"};
  for (const auto& c : report.components) {
    const bool up = c.state == "connected" || c.state == "degraded";
    metrics
        .gauge("edgeloop_component_up", "1 while a component (source, action) is connected or degraded, else 0.",
               {{"name", c.name}, {"type", c.kind}})
        .set(up ? 1 : 0);
    for (const char* state : kStates) {
      metrics
          .gauge("edgeloop_component_health",
                 "The health state of a component: 1 for its state (connecting, connected, degraded, down), 0 for "
                 "the others.",
                 {{"name", c.name}, {"type", c.kind}, {"state", state}})
          .set(c.state == state ? 1 : 0);
    }
  }
}

int health_http_status(const std::string& status) {
  return status == "ok" || status == "degraded" ? 200 : 503;
}

}  // namespace edgeloop
