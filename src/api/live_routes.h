// The live routes on a LiveHub: GET /api/v1/live (SSE), /api/v1/streams,
// /api/v1/streams/history, /api/v1/overview, /api/v1/alerts, POST /api/v1/alerts/{id}/ack and
// /api/v1/alerts/{id}/comments (role operate). docs/api.md has the shapes.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "api/http_server.h"
#include "api/live_hub.h"
#include "api/pipeline_routes.h"
#include "runtime/runtime.h"

namespace edgeloop {

// Before api.start(). `runtime` and `hub` must outlive the server. `thresholds` (from
// pipeline_thresholds(config)) let the overview say `warning` when a value nears a rule's
// `when` threshold.
void register_live_routes(ApiServer& api, Runtime& runtime, LiveHub& hub, std::vector<Threshold> thresholds = {});
// The same without a runtime (tests): `pipelines` is the overview's pipeline count.
void register_live_routes(ApiServer& api, LiveHub& hub, std::size_t pipelines, std::vector<Threshold> thresholds = {});

// Before runtime.start(): the runtime's events (alerts, insights) go to the hub.
void attach_live_hub(Runtime& runtime, LiveHub& hub);

// The overview's health of one asset: "alert" with an open alert, "warning" when a value of
// the asset's pipelines is above 80% of a `>`/`>=` `when` threshold of a rule there, else "ok".
// `values`: (pipeline, field) -> latest value.
const char* asset_health(int open_alerts, const std::map<std::pair<std::string, std::string>, double>& values,
                         const std::vector<Threshold>& thresholds);

}  // namespace edgeloop
