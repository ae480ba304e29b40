#include "connectors/mqtt/builtins.h"

#include "connectors/mqtt/mqtt_publish.h"
#include "connectors/mqtt/mqtt_source.h"

namespace edgeloop {

void register_mqtt(Registry& registry) {
  PluginInfo source;
  source.name = "mqtt";
  source.summary =
      "Subscribes to MQTT topics (libmosquitto, v3.1.1, optional TLS) and decodes each message with a codec; the "
      "stream key comes from the topic levels. Reconnects with back-off; bad messages are dead-lettered and counted "
      "(edgeloop_source_errors_total{reason}).";
  source.options = mqtt_source_options();
  const Registry* reg = &registry;
  registry.add_source(std::move(source), [reg](const Options& options) -> Result<std::unique_ptr<Source>> {
    auto s = MqttSource::from_options(options, *reg);
    if (!s.ok()) return s.take_error();
    return std::unique_ptr<Source>(std::move(s).value());
  });

  PluginInfo publish;
  publish.name = "mqtt_publish";
  publish.summary =
      "Publishes a message per event to an MQTT broker, topic and payload from templates. Never blocks the dispatch "
      "thread; while the broker is away up to max_pending messages wait (QoS 1 ones are delivered after the "
      "reconnect), then new ones are dropped and counted.";
  publish.options = mqtt_publish_options();
  registry.add_action(std::move(publish), [](const Options& options) -> Result<std::unique_ptr<Action>> {
    auto a = MqttPublishAction::from_options(options);
    if (!a.ok()) return a.take_error();
    return std::unique_ptr<Action>(std::move(a).value());
  });
}

}  // namespace edgeloop
