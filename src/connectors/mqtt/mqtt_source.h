// source.mqtt: subscribes to topic filters, decodes each message with a codec on libmosquitto's
// thread, keys it from its topic and pushes the records to the router. A bad message (bad
// payload, bad topic) is counted and dead-lettered; processing goes on.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/mqtt/mqtt_client.h"
#include "connectors/mqtt/native_subscriber.h"
#include "connectors/mqtt/topic_key.h"
#include "core/registry.h"

namespace edgeloop {

struct MqttSourceConfig {
  MqttConnectConfig connect;
  std::vector<std::string> subscribe;  // topic filters; + and # allowed
  int qos = 0;
  std::string key = "{topic}";
  // The lean built-in MQTT client (plain TCP) instead of libmosquitto (see native_subscriber.h).
  bool native = false;
};

// The option table of source.mqtt, and the config it describes (the codec is built apart).
const OptionTable& mqtt_source_options();
Result<MqttSourceConfig> mqtt_source_config(const Options& options);

class MqttSource final : public Source {
 public:
  // Reasons a message is dead-lettered: the `reason` label of edgeloop_source_errors_total.
  enum Reason { kMalformed, kMissingField, kWrongType, kTooLarge, kBadTopic, kKeyLimit, kReasons };
  static const char* reason_name(int reason);
  // The reason for a codec error, by its code.
  static Reason reason_for(Errc code);

  static Result<std::unique_ptr<MqttSource>> create(MqttSourceConfig config, std::unique_ptr<Codec> codec);
  // Builds it from options, with the codec from `registry` (option `codec`).
  static Result<std::unique_ptr<MqttSource>> from_options(const Options& options, const Registry& registry);

  ~MqttSource() override;
  const Schema& schema() const override { return codec_->schema(); }
  Status start(SourceContext& ctx) override;
  void stop() override;
  Health health() const override;

  // The message path, called on libmosquitto's thread (public for tests and benchmarks: it
  // needs no broker, only a started context; see bind()).
  void handle_message(std::string_view topic, std::string_view payload, int64_t recv_ns);
  // Binds the context (metrics, key cache, outputs) without connecting; start() calls it.
  Status bind(SourceContext& ctx);

  uint64_t connects() const;
  uint64_t disconnects() const;
  const MqttSourceConfig& config() const { return config_; }

 private:
  MqttSource(MqttSourceConfig config, TopicKey key, std::unique_ptr<Codec> codec);
  void reject(Reason reason, std::string message, std::string_view topic, std::string_view payload, int64_t recv_ns);

  MqttSourceConfig config_;
  TopicKey key_;
  std::unique_ptr<Codec> codec_;
  std::unique_ptr<MqttClient> client_;        // client: libmosquitto
  std::unique_ptr<NativeSubscriber> native_;  // client: native
  // Bound by bind(): used on libmosquitto's thread only.
  std::string name_;
  uint16_t index_ = 0;
  RecordOutput* output_ = nullptr;
  DeadLetterSink* dead_letters_ = nullptr;
  std::optional<KeyCache> keys_;
  std::vector<Record> records_;  // reused per message
  std::string key_buf_;
  Counter* messages_ = nullptr;
  Counter* records_total_ = nullptr;
  Counter* errors_[kReasons] = {};
  Gauge* up_ = nullptr;
  std::unique_ptr<Metrics> own_metrics_;  // when the context has none
};

}  // namespace edgeloop
