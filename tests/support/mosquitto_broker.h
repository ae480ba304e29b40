// A real mosquitto broker for integration tests, on 127.0.0.1 and a free port, configured like
// the T1 harness (no persistence, unlimited queues, TCP_NODELAY), and a small libmosquitto
// client to publish and to collect what arrives.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "process.h"

struct mosquitto;
struct mosquitto_message;

namespace edgeloop::test {

inline constexpr const char* kMosquittoPath = "/usr/sbin/mosquitto";

// True when /usr/sbin/mosquitto exists (tests skip with a message otherwise).
bool mosquitto_available();

class MosquittoBroker {
 public:
  // `extra_config`: more lines for mosquitto.conf (e.g. "max_inflight_messages 1").
  explicit MosquittoBroker(std::string extra_config = {});
  ~MosquittoBroker();  // stops it and removes its directory
  MosquittoBroker(const MosquittoBroker&) = delete;
  MosquittoBroker& operator=(const MosquittoBroker&) = delete;

  // Picks a free port (first start only), writes the config, starts mosquitto and waits
  // until the port accepts connections.
  Status start(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // SIGTERM (a clean shutdown: clients see a disconnect), waits until the port is closed.
  void stop();
  // SIGKILL (a crash).
  void kill();
  // Stops it if running, then starts it again on the same port.
  Status restart(std::chrono::milliseconds timeout = std::chrono::seconds(10));

  bool running() { return process_.running(); }
  pid_t pid() const { return process_.pid(); }
  int port() const { return port_; }
  std::string host() const { return "127.0.0.1"; }
  const std::string& dir() const { return dir_; }
  std::string log_path() const { return dir_ + "/mosquitto.log"; }
  std::string log() const;  // what the broker wrote so far

 private:
  std::string extra_config_;
  std::string dir_;
  int port_ = 0;
  Process process_;
};

struct ReceivedMessage {
  std::string topic;
  std::string payload;
  int qos = 0;
  bool retain = false;
  int64_t recv_ns = 0;  // Unix ns when the callback ran
};

// A libmosquitto client (threaded) for tests. Thread-safe.
class MqttTestClient {
 public:
  explicit MqttTestClient(std::string client_id = {});
  ~MqttTestClient();
  MqttTestClient(const MqttTestClient&) = delete;
  MqttTestClient& operator=(const MqttTestClient&) = delete;

  // Connects and waits for the broker's CONNACK.
  Status connect(const std::string& host, int port, std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // Subscribes and waits for the SUBACK.
  Status subscribe(const std::string& topic, int qos = 0, std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // Queues a publish (libmosquitto sends it from its thread).
  Status publish(const std::string& topic, std::string_view payload, int qos = 0, bool retain = false);
  // Waits until every publish so far has gone out (QoS 0: written; QoS 1: acknowledged).
  bool wait_published(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  void disconnect();
  bool connected() const { return connected_.load(); }

  std::size_t count() const;
  std::vector<ReceivedMessage> messages() const;
  void clear();
  // Waits until at least `n` messages have arrived.
  bool wait_for_count(std::size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Waits for the first message (received so far or later) that `match` accepts.
  std::optional<ReceivedMessage> wait_for(const std::function<bool(const ReceivedMessage&)>& match,
                                          std::chrono::milliseconds timeout = std::chrono::seconds(10));

 private:
  static void on_connect(mosquitto*, void* self, int rc);
  static void on_disconnect(mosquitto*, void* self, int rc);
  static void on_subscribe(mosquitto*, void* self, int mid, int count, const int* granted);
  static void on_publish(mosquitto*, void* self, int mid);
  static void on_message(mosquitto*, void* self, const mosquitto_message* msg);

  mosquitto* mosq_ = nullptr;
  bool loop_started_ = false;
  std::atomic<bool> connected_{false};
  std::atomic<int> connack_rc_{-1};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<ReceivedMessage> received_;  // guarded by mu_
  std::vector<int> subacked_;              // guarded by mu_
  uint64_t published_ = 0;                 // guarded by mu_
  uint64_t sent_ = 0;                      // guarded by mu_
};

}  // namespace edgeloop::test
