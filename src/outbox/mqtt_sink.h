// `sink: mqtt`: delivers outbox messages to an MQTT broker with QoS 1. A message counts as
// delivered when its PUBACK came back (libmosquitto's on_publish with the message id). While
// the broker is away libmosquitto keeps the unacknowledged messages and sends them again, in
// order, after its own reconnect, so this sink's epoch never changes.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "connectors/mqtt/mqtt_client.h"
#include "outbox/sink.h"

namespace edgeloop {

inline constexpr const char* kDefaultUpstreamTopic = "edgeloop/{gateway}/{kind}/{key}";

// A topic template over a message's columns: {gateway}, {kind}, {key}, {pipeline}, {stage}.
class UpstreamTopic {
 public:
  static Result<UpstreamTopic> compile(const std::string& text);
  void render(const OutboxMessage& m, const std::string& gateway, std::string& out) const;

 private:
  enum class Part { kText, kGateway, kKind, kKey, kPipeline, kStage };
  std::vector<std::pair<Part, std::string>> parts_;
};

struct MqttSinkConfig {
  std::string name = "upstream";  // for logs
  MqttConnectConfig connect;
  std::string topic = kDefaultUpstreamTopic;
  std::string gateway;
};

class MqttSink final : public UpstreamSink {
 public:
  static Result<std::unique_ptr<MqttSink>> create(MqttSinkConfig config);
  ~MqttSink() override;

  Status start(Completion done) override;
  void stop() override;
  bool ready() override;
  uint64_t epoch() const override { return 0; }
  Status send(const OutboxMessage& m) override;
  Health health() const override;
  std::string describe() const override;

 private:
  explicit MqttSink(MqttSinkConfig config, UpstreamTopic topic);
  void on_published(int mid);

  MqttSinkConfig config_;
  UpstreamTopic topic_;
  Completion done_;
  std::unique_ptr<MqttClient> client_;
  std::string topic_buf_;  // sender thread
  std::mutex mu_;
  std::unordered_map<int, uint64_t> pending_;  // mid -> seq; guarded by mu_
  std::unordered_set<int> early_;              // PUBACKs that beat publish's return; guarded by mu_
};

}  // namespace edgeloop
