#include "actions/action_metrics.h"

namespace edgeloop {

PublishActionMetrics make_publish_action_metrics(const ActionContext& ctx, std::unique_ptr<Metrics>& own) {
  PublishActionMetrics r;
  r.metrics = ctx.metrics;
  if (!r.metrics) {
    own = std::make_unique<Metrics>();
    r.metrics = own.get();
  }
  Metrics& m = *r.metrics;
  const Metrics::Labels labels = {{"action", ctx.name}};
  r.events = &m.counter("edgeloop_action_events_total", "Events an action received.", labels);
  r.published = &m.counter("edgeloop_action_published_total",
                           "Messages an action delivered (QoS 1: acknowledged by the broker; QoS 0: written).", labels);
  r.errors = &m.counter("edgeloop_action_errors_total",
                        "Events an action could not handle (or rendered with an unknown field).", labels);
  r.dropped = &m.counter("edgeloop_action_dropped_total",
                         "Messages an action dropped because max_pending were already waiting for the broker.", labels);
  r.up = &m.gauge("edgeloop_connector_up", "1 while the connector is connected to its peer, else 0.", {{"connector", ctx.name}});
  return r;
}

}  // namespace edgeloop
