// The event a stage emits about a record: what every emitting stage (rule, detect, health,
// model, inspect) starts from before it sets the schema, name, severity and state.
#pragma once

#include <string>

#include "core/record.h"

namespace edgeloop {

// An event of `kind` about record `r` (its key, times and values) from stage `stage` of
// pipeline `pipeline`.
inline Event event_about(const Record& r, EventKind kind, uint16_t pipeline, uint16_t stage,
                         const std::string* pipeline_name) {
  Event e;
  e.kind = kind;
  e.pipeline = pipeline;
  e.stage = stage;
  e.key = r.key;
  e.nfields = r.nfields;
  e.ts_ns = r.ts_ns;
  e.recv_ns = r.recv_ns;
  e.f = r.f;
  e.pipeline_name = pipeline_name;
  return e;
}

}  // namespace edgeloop
