// A libmosquitto client for Sparkplug: like connectors/mqtt's MqttClient (threaded loop,
// back-off, subscriptions made again on every connect, TLS, credentials) plus what Sparkplug
// needs and MqttClient lacks: an MQTT will that is recomputed before every (re)connect, so an
// edge node's NDEATH carries the bdSeq of the session it ends, and a host's STATE goes offline.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/mqtt/mqtt_client.h"

namespace edgeloop::sparkplug {

struct Will {
  std::string topic;  // empty: no will
  std::string payload;
  int qos = 0;
  bool retain = false;
};

class Session {
 public:
  struct Callbacks {
    // All run on libmosquitto's thread.
    std::function<void(std::string_view topic, std::string_view payload)> on_message;
    std::function<void()> on_connected;     // after the subscriptions were sent
    std::function<void()> on_disconnected;  // then `will` is asked for the next connect's will
    std::function<Will()> will;             // before the first connect and after each disconnect
  };

  Session(std::string name, MqttConnectConfig config, Callbacks callbacks);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void set_subscriptions(std::vector<std::string> filters, int qos);
  Status start();
  // Disconnects (after what was queued) and joins. Idempotent; not from a callback.
  void stop();
  // Thread-safe, never waits for the network: MOSQ_ERR_* (MOSQ_ERR_NO_CONN while away).
  int publish(const std::string& topic, std::string_view payload, int qos, bool retain);

  Health health() const { return static_cast<Health>(health_.load(std::memory_order_acquire)); }
  uint64_t connects() const { return connects_.load(std::memory_order_relaxed); }
  std::string endpoint() const { return config_.host + ":" + std::to_string(config_.port); }

 private:
  static void on_connect_cb(mosquitto*, void* self, int rc);
  static void on_disconnect_cb(mosquitto*, void* self, int rc);
  static void on_message_cb(mosquitto*, void* self, const mosquitto_message* msg);
  void apply_will();

  std::string name_;
  MqttConnectConfig config_;
  Callbacks callbacks_;
  std::vector<std::string> filters_;
  int sub_qos_ = 0;
  mosquitto* mosq_ = nullptr;
  bool loop_running_ = false;
  std::atomic<bool> stopping_{false};
  std::atomic<int> health_{static_cast<int>(Health::kConnecting)};
  std::atomic<uint64_t> connects_{0};
};

}  // namespace edgeloop::sparkplug
