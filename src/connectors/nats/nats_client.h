// A small RAII wrapper over a libnats connection: connects in the background (a server that is
// down at start is retried, like a lost connection), reconnects forever with a wait and jitter,
// reports its health and counts connects and disconnects. The epoch (libnats' reconnect count)
// changes with every new connection, so that a publisher can tell the messages of an older
// connection apart.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "core/options.h"
#include "core/plugin.h"

struct __natsConnection;
struct __natsStatistics;

namespace edgeloop {

struct NatsConnectConfig {
  std::vector<std::string> servers = {"nats://127.0.0.1:4222"};  // user:password@ in a URL is honoured
  std::string name;                  // the connection's name, shown by the server's monitoring
  int64_t connect_timeout_ms = 2000;
  int64_t reconnect_wait_ms = 500;   // between two rounds over the server list
  int64_t reconnect_jitter_ms = 250;
  int64_t ping_interval_ms = 5000;   // a silent dead server is noticed after ~2 pings
  // Publishes made while reconnecting are held in a buffer of this size by libnats and sent
  // after the reconnect. 0: the library's default (8 MiB). The outbox wants none (see its README).
  int reconnect_buffer_bytes = 0;
};

// Splits "nats://a:4222, nats://b:4222" into URLs; an error for an empty list or a URL that
// is not nats:// (or tls://).
Result<std::vector<std::string>> parse_nats_urls(std::string_view text);

// `url` (a comma list), `connect_timeout`, `reconnect_wait`, `ping_interval`, appended to `table`.
void add_nats_connect_options(OptionTable& table);
Result<NatsConnectConfig> nats_connect_config(const Options& options);

// nats_Open once per process.
void nats_lib_init();

// libnats runs callbacks on its own threads, and may run one after natsConnection_Close has
// returned (they are queued). Callbacks therefore reach their owner through a hook that outlives
// it: the owner clears `owner` under `mu` when it stops, and a callback that finds it null does
// nothing. Hooks are kept (reachable, a few bytes each) for the life of the process.
struct NatsCallbackHook {
  std::mutex mu;
  void* owner = nullptr;  // guarded by mu
};
NatsCallbackHook* new_nats_callback_hook(void* owner);

class NatsClient {
 public:
  struct Callbacks {
    // Run on libnats' callback thread.
    std::function<void()> on_connected;     // first connect and every reconnect
    std::function<void()> on_disconnected;  // a lost connection
  };

  // `name` is for logs ("action upstream").
  NatsClient(std::string name, NatsConnectConfig config, Callbacks callbacks = {});
  ~NatsClient();  // stop()
  NatsClient(const NatsClient&) = delete;
  NatsClient& operator=(const NatsClient&) = delete;

  // Connects in the background; errors only for what retrying cannot fix (bad options).
  Status start();
  // Closes and destroys the connection. Idempotent. Not from a libnats callback.
  void stop();

  // The connection (valid between start and stop), for JetStream contexts and subscriptions.
  __natsConnection* connection() const { return nc_; }
  // True while the connection is up (NATS_CONN_STATUS_CONNECTED).
  bool connected() const;
  Health health() const { return static_cast<Health>(health_.load(std::memory_order_acquire)); }
  uint64_t connects() const { return connects_.load(std::memory_order_relaxed); }
  uint64_t disconnects() const { return disconnects_.load(std::memory_order_relaxed); }
  // The number of reconnects, read from the connection itself (libnats counts one before the
  // new connection becomes usable, so a send that sees the new connection sees the new epoch;
  // the callbacks come later, on another thread).
  uint64_t epoch() const;
  const NatsConnectConfig& config() const { return config_; }
  std::string endpoint() const;  // the server list, for logs

 private:
  static void on_connected_cb(__natsConnection* nc, void* self);
  static void on_disconnected_cb(__natsConnection* nc, void* self);
  static void on_reconnected_cb(__natsConnection* nc, void* self);
  void connected_now();
  void disconnected_now();
  void set_health(Health h) { health_.store(static_cast<int>(h), std::memory_order_release); }

  std::string name_;
  NatsConnectConfig config_;
  Callbacks callbacks_;
  __natsConnection* nc_ = nullptr;
  NatsCallbackHook* hook_ = nullptr;
  std::atomic<bool> stopping_{false};
  std::atomic<int> health_{static_cast<int>(Health::kConnecting)};
  std::atomic<uint64_t> connects_{0};
  std::atomic<uint64_t> disconnects_{0};
  mutable std::mutex stats_mu_;                // also guards nc_ against stop() while epoch() reads
  mutable __natsStatistics* stats_ = nullptr;  // guarded by stats_mu_
};

}  // namespace edgeloop
