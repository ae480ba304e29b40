// A small RAII wrapper over a threaded libmosquitto client: asynchronous connect with
// libmosquitto's own loop thread, reconnect with back-off, subscriptions made again on every
// connect, optional TLS and credentials, an optional MQTT will recomputed before every
// (re)connect, a health state and connect/disconnect counters.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/options.h"
#include "core/plugin.h"

struct mosquitto;
struct mosquitto_message;

namespace edgeloop {

struct MqttConnectConfig {
  std::string host = "127.0.0.1";
  int port = 1883;
  std::string client_id;  // empty: "edgeloop-<name>-<pid>" (see default_client_id)
  std::string username;
  std::string password;
  std::string ca_file;    // set: TLS
  std::string cert_file;  // client certificate (with key_file)
  std::string key_file;
  bool tls_insecure = false;  // do not check the server's host name against its certificate
  int keepalive_s = 30;
  // libmosquitto counts whole seconds; its back-off retries at once, then after min x n^2,
  // capped at max.
  int reconnect_min_s = 1;
  int reconnect_max_s = 30;
  // The same, unrounded, for the native subscriber (exponential: min, 2 min, 4 min ... max).
  int64_t reconnect_min_ms = 1000;
  int64_t reconnect_max_ms = 30000;
  bool clean_session = true;
};

// The connection options every MQTT plugin shares (host, port, client_id, username, password,
// ca_file, cert_file, key_file, tls_insecure, keepalive, reconnect_min, reconnect_max,
// clean_session), appended to `table`.
void add_mqtt_connect_options(OptionTable& table);
Result<MqttConnectConfig> mqtt_connect_config(const Options& options);
std::string default_client_id(const std::string& name);

// An MQTT will: what the broker publishes for a client whose connection ends without a
// DISCONNECT (crash, network loss, keep-alive timeout).
struct MqttWill {
  std::string topic;  // empty: no will
  std::string payload;
  int qos = 0;
  bool retain = false;
};

// Calls mosquitto_lib_init once per process.
void mqtt_lib_init();

class MqttClient {
 public:
  struct Callbacks {
    // All run on libmosquitto's thread.
    std::function<void(std::string_view topic, std::string_view payload)> on_message;
    std::function<void()> on_connected;  // after the subscriptions were sent, before health() says so
    std::function<void()> on_disconnected;  // before health() says so
    std::function<void(int mid)> on_published;  // QoS 0 written, QoS 1 acknowledged
    // The will for the next connect, asked before the first connect (on start()'s thread) and
    // after each disconnect but one caused by stop() (on libmosquitto's thread, after
    // on_disconnected): so a will can carry per-session state, e.g. Sparkplug's NDEATH bdSeq.
    // Unset: no will. MqttClient only (NativeSubscriber ignores it).
    std::function<MqttWill()> will;
  };

  // `name` is for logs ("source plant", "action alert_out").
  MqttClient(std::string name, MqttConnectConfig config, Callbacks callbacks);
  ~MqttClient();  // stop()
  MqttClient(const MqttClient&) = delete;
  MqttClient& operator=(const MqttClient&) = delete;

  // Before start(): the topic filters to subscribe to on every connect.
  void set_subscriptions(std::vector<std::string> filters, int qos);

  // Creates the client, starts libmosquitto's thread and connects in the background (a broker
  // that is down is retried with back-off). Errors only for what retrying cannot fix (TLS
  // files, bad options).
  Status start();
  // Disconnects and joins libmosquitto's thread. Idempotent. Must not be called from a callback.
  void stop();

  // Thread-safe, never waits for the network: returns libmosquitto's result (MOSQ_ERR_*).
  int publish(const char* topic, const void* payload, int len, int qos, bool retain, int* mid = nullptr);
  int publish(const std::string& topic, std::string_view payload, int qos, bool retain) {
    return publish(topic.c_str(), payload.data(), static_cast<int>(payload.size()), qos, retain);
  }

  Health health() const { return static_cast<Health>(health_.load(std::memory_order_acquire)); }
  uint64_t connects() const { return connects_.load(std::memory_order_relaxed); }
  uint64_t disconnects() const { return disconnects_.load(std::memory_order_relaxed); }
  const MqttConnectConfig& config() const { return config_; }
  std::string endpoint() const { return config_.host + ":" + std::to_string(config_.port); }

 private:
  static void on_connect_cb(mosquitto*, void* self, int rc);
  static void on_disconnect_cb(mosquitto*, void* self, int rc);
  static void on_message_cb(mosquitto*, void* self, const mosquitto_message* msg);
  static void on_publish_cb(mosquitto*, void* self, int mid);
  void apply_will();  // asks callbacks_.will and sets or clears libmosquitto's will
  void set_health(Health h) { health_.store(static_cast<int>(h), std::memory_order_release); }

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
  std::atomic<uint64_t> disconnects_{0};
};

}  // namespace edgeloop
