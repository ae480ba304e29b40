// The metrics every action that sends to a peer exports (action.mqtt_publish, action.sparkplug,
// action.sparkplug_command, action.modbus_write, action.opcua_write), made in one place so that
// their names and help texts stay the same.
#pragma once

#include <memory>

#include "core/metrics.h"
#include "core/plugin.h"

namespace edgeloop {

struct PublishActionMetrics {
  Metrics* metrics = nullptr;  // where they live: ctx.metrics, else `own`
  Counter* events = nullptr;
  Counter* published = nullptr;
  Counter* errors = nullptr;
  Counter* dropped = nullptr;
  Gauge* up = nullptr;  // edgeloop_connector_up
};

// edgeloop_action_{events,published,errors,dropped}_total{action=ctx.name} and
// edgeloop_connector_up{connector=ctx.name}, in ctx.metrics; without one, in a registry made
// into `own` (which must outlive the pointers).
PublishActionMetrics make_publish_action_metrics(const ActionContext& ctx, std::unique_ptr<Metrics>& own);

}  // namespace edgeloop
