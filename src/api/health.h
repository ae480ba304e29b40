// What /healthz reports: an overall status and the state of each component. The runtime
// decides the status (its policy); the API only renders it.
#pragma once

#include <string>
#include <vector>

#include "core/metrics.h"

namespace edgeloop {

struct ComponentHealth {
  std::string name;   // e.g. "plant"
  std::string kind;   // "source", "action", "store", ...
  std::string state;  // e.g. health_name(): "connecting", "connected", "degraded", "down"
};

struct HealthReport {
  std::string status = "ok";  // "ok" | "degraded" | "down"
  std::vector<ComponentHealth> components;
};

// {"status":"ok","components":[{"name":...,"kind":...,"state":...}]}
std::string health_json(const HealthReport& report);
// GET /api/v1/components: {"status":"ok","components":[{"name":...,"type":...,"health":...}]}.
std::string components_json(const HealthReport& report);
// The health of every component as gauges in `metrics` (refreshed on every /metrics scrape):
// edgeloop_component_up{name,type} 1 while connected or degraded, else 0, and
// edgeloop_component_health{name,type,state} 1 for its state, 0 for the three others.
void export_health_metrics(const HealthReport& report, Metrics& metrics);
// 200 for "ok" and "degraded" (still serving), 503 for anything else.
int health_http_status(const std::string& status);

}  // namespace edgeloop
