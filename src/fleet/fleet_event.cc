#include "fleet/fleet_event.h"

#include <cmath>
#include <exception>
#include <limits>
#include <nlohmann/json.hpp>

namespace edgeloop::fleet {

namespace {

using Json = nlohmann::json;

Error bad(std::string what) {
  return make_error(Errc::kParse, "event: " + std::move(what));
}

// The member as a string, "" when absent; an error when present with another type.
Result<std::string> string_member(const Json& j, const char* name, bool required) {
  const auto it = j.find(name);
  if (it == j.end() || it->is_null()) {
    if (required) return bad(std::string("no \"") + name + "\"");
    return std::string();
  }
  if (!it->is_string()) return bad(std::string("\"") + name + "\" is not a string");
  return it->get<std::string>();
}

// The second token of `<prefix>.<gateway>.<kind>`.
std::string gateway_of_subject(std::string_view subject) {
  const auto a = subject.find('.');
  if (a == std::string_view::npos) return {};
  const auto b = subject.find('.', a + 1);
  if (b == std::string_view::npos) return {};
  return std::string(subject.substr(a + 1, b - a - 1));
}

Result<FleetEvent> decode(const Json& j, std::string_view subject) {
  if (!j.is_object()) return bad("not a JSON object");
  FleetEvent e;
  EDGELOOP_ASSIGN_OR_RETURN(e.id, string_member(j, "id", false));
  EDGELOOP_ASSIGN_OR_RETURN(e.gateway, string_member(j, "gateway", false));
  if (e.gateway.empty()) e.gateway = gateway_of_subject(subject);
  if (e.gateway.empty()) return bad("no \"gateway\" (and none in the subject)");
  EDGELOOP_ASSIGN_OR_RETURN(e.pipeline, string_member(j, "pipeline", false));
  EDGELOOP_ASSIGN_OR_RETURN(e.stage, string_member(j, "stage", false));
  EDGELOOP_ASSIGN_OR_RETURN(e.key, string_member(j, "key", true));

  EDGELOOP_ASSIGN_OR_RETURN(std::string kind, string_member(j, "kind", true));
  if (kind == "insight")
    e.kind = FleetKind::kInsight;
  else if (kind == "alert")
    e.kind = FleetKind::kAlert;
  else if (kind == "command")
    e.kind = FleetKind::kCommand;
  else
    return bad("unknown \"kind\" (insight, alert or command)");

  EDGELOOP_ASSIGN_OR_RETURN(std::string state, string_member(j, "state", false));
  if (state.empty() || state == "none")
    e.state = FleetAlertState::kNone;
  else if (state == "raised")
    e.state = FleetAlertState::kRaised;
  else if (state == "cleared")
    e.state = FleetAlertState::kCleared;
  else
    return bad("unknown \"state\" (none, raised or cleared)");
  if (e.kind == FleetKind::kAlert && e.state == FleetAlertState::kNone) return bad("an alert without \"state\"");

  EDGELOOP_ASSIGN_OR_RETURN(std::string severity, string_member(j, "severity", false));
  if (!severity.empty()) {
    if (severity != "info" && severity != "warning" && severity != "critical") {
      return bad("unknown \"severity\" (info, warning or critical)");
    }
    e.severity = std::move(severity);
  }

  const auto ts = j.find("ts_ns");
  if (ts == j.end() || !ts->is_number_integer()) return bad("\"ts_ns\" is missing or not an integer");
  if (ts->is_number_unsigned() && ts->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return bad("\"ts_ns\" is out of range");
  }
  e.ts_ns = ts->get<int64_t>();

  const auto fields = j.find("fields");
  if (fields != j.end() && !fields->is_null()) {
    if (!fields->is_object()) return bad("\"fields\" is not an object");
    e.fields.reserve(fields->size());
    for (const auto& [name, v] : fields->items()) {
      if (v.is_null())
        e.fields.emplace_back(name, std::numeric_limits<double>::quiet_NaN());
      else if (v.is_number())
        e.fields.emplace_back(name, v.get<double>());
      else
        return bad("field \"" + name.substr(0, 64) + "\" is not a number or null");
    }
  }
  return e;
}

}  // namespace

const char* fleet_kind_name(FleetKind k) {
  switch (k) {
    case FleetKind::kInsight:
      return "insight";
    case FleetKind::kAlert:
      return "alert";
    case FleetKind::kCommand:
      return "command";
  }
  return "unknown";
}

const char* fleet_alert_state_name(FleetAlertState s) {
  switch (s) {
    case FleetAlertState::kNone:
      return "none";
    case FleetAlertState::kRaised:
      return "raised";
    case FleetAlertState::kCleared:
      return "cleared";
  }
  return "unknown";
}

Result<FleetEvent> parse_fleet_event(std::string_view json, std::string_view subject) {
  // Without exceptions: a parse error gives a discarded value.
  const Json j = Json::parse(json.begin(), json.end(), nullptr, false);
  if (j.is_discarded()) return bad("not valid JSON");
  try {
    return decode(j, subject);
  } catch (const std::exception& ex) {  // nlohmann's get<> on a value checked above: a bug
    return make_error(Errc::kInternal, std::string("event: ") + ex.what());
  }
}

}  // namespace edgeloop::fleet
