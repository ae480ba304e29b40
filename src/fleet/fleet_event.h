// An event as the fleet reads it from the stream: the one JSON shape that gateways publish
// (actions/event_json.h), decoded with nlohmann_json. Bad input is an error, never a crash.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace edgeloop::fleet {

enum class FleetKind : uint8_t { kInsight, kAlert, kCommand };
enum class FleetAlertState : uint8_t { kNone, kRaised, kCleared };

struct FleetEvent {
  std::string id;  // "gw-1:42"; empty when the gateway sent none
  std::string gateway;
  std::string pipeline;
  std::string stage;
  std::string key;
  FleetKind kind = FleetKind::kInsight;
  FleetAlertState state = FleetAlertState::kNone;
  std::string severity = "info";  // "info" | "warning" | "critical"
  int64_t ts_ns = 0;
  // In the payload's order; a null value (non-finite at the source) is NaN.
  std::vector<std::pair<std::string, double>> fields;
};

const char* fleet_kind_name(FleetKind k);
const char* fleet_alert_state_name(FleetAlertState s);

// Decodes one message. `subject` (`<prefix>.<gateway>.<kind>`) supplies the gateway when the
// payload has none. Errors (kParse) name the first thing wrong; the text is bounded.
Result<FleetEvent> parse_fleet_event(std::string_view json, std::string_view subject = {});

}  // namespace edgeloop::fleet
