// What /healthz reports: an overall status and the state of each component. The runtime
// decides the status (its policy); the API only renders it.
#pragma once

#include <string>
#include <vector>

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
// 200 for "ok" and "degraded" (still serving), 503 for anything else.
int health_http_status(const std::string& status);

}  // namespace edgeloop
