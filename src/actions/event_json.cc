#include "actions/event_json.h"

#include "actions/template.h"

namespace edgeloop {

namespace {

void append_member(std::string& out, std::string_view name, std::string_view value) {
  out.push_back('"');
  out.append(name);
  out.append("\":\"");
  append_json_escaped(out, value);
  out.append("\",");
}

}  // namespace

void append_event_json(std::string& out, const Event& e, const EventJsonContext& ctx) {
  out.push_back('{');
  if (!ctx.id.empty()) append_member(out, "id", ctx.id);
  if (!ctx.gateway.empty()) append_member(out, "gateway", ctx.gateway);
  append_member(out, "pipeline", e.pipeline_name ? std::string_view(*e.pipeline_name) : std::string_view());
  append_member(out, "stage", e.name ? std::string_view(*e.name) : std::string_view());
  if (ctx.keys != nullptr && e.key != kNoKey) {
    append_member(out, "key", ctx.keys->name(e.key));
  } else {
    out.append("\"key\":\"");
    append_int(out, static_cast<int64_t>(e.key));
    out.append("\",");
  }
  append_member(out, "kind", event_kind_name(e.kind));
  append_member(out, "state", alert_state_name(e.state));
  append_member(out, "severity", severity_name(e.severity));
  out.append("\"ts_ns\":");
  append_int(out, e.ts_ns);
  out.append(",\"fields\":{");
  const std::size_t n = e.schema ? std::min<std::size_t>(e.nfields, e.schema->size()) : 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (i) out.push_back(',');
    out.push_back('"');
    append_json_escaped(out, e.schema->name(i));
    out.append("\":");
    append_number(out, e.f[i]);
  }
  out.append("}}");
}

}  // namespace edgeloop
