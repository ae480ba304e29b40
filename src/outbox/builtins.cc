#include "outbox/builtins.h"

#include "outbox/upstream_action.h"

namespace edgeloop {

void register_outbox(Registry& registry) {
  PluginInfo upstream;
  upstream.name = "upstream";
  upstream.summary =
      "Store and forward: each selected event is committed to a durable outbox (SQLite WAL, group commit) and then "
      "delivered at least once, oldest first and in order per key, to NATS JetStream (message id `<gateway>:<seq>` as "
      "Nats-Msg-Id, so a re-sent event is stored once) or an MQTT broker (QoS 1, deleted on PUBACK). Survives restarts "
      "and uplink outages up to a bound (`max_events`, `max_bytes`, `when_full`).";
  upstream.options = upstream_options();
  registry.add_action(std::move(upstream), [](const Options& options) -> Result<std::unique_ptr<Action>> {
    auto a = UpstreamAction::from_options(options);
    if (!a.ok()) return a.take_error();
    return std::unique_ptr<Action>(std::move(a).value());
  });
}

}  // namespace edgeloop
