// action.mqtt_publish: renders a topic and a payload from each event and publishes them.
// on_event runs on the dispatch thread and never blocks: libmosquitto's publish only queues
// (its own thread writes). While the broker is away:
// - QoS 1: libmosquitto keeps the message until it is acknowledged (sent again after a
//   reconnect), even when it returns MOSQ_ERR_NO_CONN; we bound how many may wait so
//   (max_pending);
// - QoS 0: libmosquitto refuses (MOSQ_ERR_NO_CONN); we keep up to max_pending in a queue of
//   our own and publish them, in order, once connected again.
// Past max_pending the NEW message is dropped and counted (edgeloop_action_dropped_total).
#pragma once

#include <atomic>
#include <deque>
#include <memory>
#include <mutex>
#include <string>

#include "actions/template.h"
#include "connectors/mqtt/mqtt_client.h"

namespace edgeloop {

inline constexpr const char* kDefaultMqttPayload =
    R"({"kind":"{kind}","state":"{state}","pipeline":"{pipeline}","rule":"{rule}","key":"{key}","ts":{ts},"values":{values}})";

struct MqttPublishConfig {
  MqttConnectConfig connect;
  std::string topic;  // template
  std::string payload = kDefaultMqttPayload;
  int qos = 1;
  bool retain = false;
  std::size_t max_pending = 10000;
};

const OptionTable& mqtt_publish_options();
Result<MqttPublishConfig> mqtt_publish_config(const Options& options);

class MqttPublishAction final : public Action {
 public:
  static Result<std::unique_ptr<MqttPublishAction>> create(MqttPublishConfig config);
  static Result<std::unique_ptr<MqttPublishAction>> from_options(const Options& options);
  ~MqttPublishAction() override;

  Status start(ActionContext& ctx) override;
  void on_event(const Event& e) override;
  void stop() override;
  Health health() const override;

  const MqttClient* client() const { return client_.get(); }
  // Messages waiting: in our queue (QoS 0) plus accepted by libmosquitto and not yet
  // acknowledged (QoS 1).
  std::size_t pending() const;

 private:
  explicit MqttPublishAction(MqttPublishConfig config);
  // Publishes topic_buf_/payload_buf_, or queues them, or counts the drop or the error.
  void publish_rendered();
  void flush_queue();  // on libmosquitto's thread, after a connect
  void fail(int rc, const std::string& topic, const std::string& payload);

  struct Message {
    std::string topic;
    std::string payload;
  };

  MqttPublishConfig config_;
  EventTemplate topic_;
  EventTemplate payload_;
  std::unique_ptr<MqttClient> client_;
  std::string name_;
  KeyTable* keys_ = nullptr;
  DeadLetterSink* dead_letters_ = nullptr;
  std::string topic_buf_;    // dispatch thread
  std::string payload_buf_;  // dispatch thread
  std::atomic<int64_t> in_flight_{0};  // QoS 1 accepted by libmosquitto, not yet acknowledged
  mutable std::mutex mu_;
  std::deque<Message> queue_;  // guarded by mu_: refused while disconnected (QoS 0)
  bool flushing_ = false;      // guarded by mu_: new messages go behind the queue meanwhile
  std::atomic<uint64_t> error_logs_{0};
  Counter* events_ = nullptr;
  Counter* published_ = nullptr;
  Counter* errors_ = nullptr;
  Counter* dropped_ = nullptr;
  Gauge* up_ = nullptr;
  std::unique_ptr<Metrics> own_metrics_;
};

}  // namespace edgeloop
