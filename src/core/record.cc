#include "core/record.h"

namespace edgeloop {

const char* event_kind_name(EventKind k) {
  switch (k) {
    case EventKind::kInsight: return "insight";
    case EventKind::kAlert: return "alert";
    case EventKind::kCommand: return "command";
  }
  return "unknown";
}

const char* severity_name(Severity s) {
  switch (s) {
    case Severity::kInfo: return "info";
    case Severity::kWarning: return "warning";
    case Severity::kCritical: return "critical";
  }
  return "unknown";
}

const char* alert_state_name(AlertState s) {
  switch (s) {
    case AlertState::kNone: return "none";
    case AlertState::kRaised: return "raised";
    case AlertState::kCleared: return "cleared";
  }
  return "unknown";
}

}  // namespace edgeloop
