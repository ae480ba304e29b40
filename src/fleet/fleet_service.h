// `edgeloop fleet` as a library: a JetStream durable pull consumer on the gateways' events
// (a thread of its own), the FleetState they build, the state file, and the HTTP API that
// serves it (GET /api/v1/fleet/gateways, /assets, /alerts, plus /healthz and /metrics).
//
// Delivery: a message is acknowledged after it was applied and, with a state file, after the
// state holding it was written (group commit: one write per `snapshot_interval` at most).
// A crash before the write leaves those messages unacknowledged: they come again and are
// applied then, once. A crash after the write and before the acks: they come again and are
// recognised by their ids (duplicates, counted). At start the state file is checked against
// the stream and the durable; when it cannot be trusted the state is rebuilt by replay.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "api/health.h"
#include "api/http_server.h"
#include "core/metrics.h"
#include "core/result.h"
#include "fleet/fleet_options.h"
#include "fleet/fleet_state.h"
#include "fleet/jetstream_consumer.h"

namespace edgeloop::fleet {

class FleetService {
 public:
  // `metrics` must outlive the service.
  FleetService(FleetOptions options, Metrics& metrics);
  ~FleetService();
  FleetService(const FleetService&) = delete;
  FleetService& operator=(const FleetService&) = delete;

  // Loads the state file (an error when it is unreadable or belongs to another stream or
  // durable), binds the HTTP API, and starts the consumer thread. The thread connects and
  // subscribes by itself, retrying with back-off: no server at start is not an error.
  Status start();
  // Stops pulling, writes the state and acknowledges what it holds, stops the API. Idempotent.
  void stop();

  int http_port() const { return api_ ? api_->port() : 0; }
  const std::string& http_host() const { return options_.http_listen; }
  HealthReport health() const;

  // Thread-safe views (the API's answers and what tests check).
  std::string gateways_json(const FleetQuery& q) const;
  std::string assets_json(const FleetQuery& q) const;
  std::string alerts_json(const FleetQuery& q) const;
  std::vector<AlertKey> open_alerts() const;
  uint64_t last_stream_seq() const;
  // True once the consumer is bound to its durable (after a start, a reconnect or a rebuild).
  bool subscribed() const { return phase_.load() == Phase::kSubscribed; }

 private:
  enum class Phase { kStopped, kConnecting, kWaitingForStream, kSubscribed };

  void run();
  Status setup_subscription();
  void apply_batch(std::vector<JetStreamMessage>& msgs);
  // Writes the state (when there is a state file) and acknowledges the pending messages;
  // without `force`, only when the interval passed or many are pending.
  void commit(bool force);
  void wait_for_ns(int64_t ns);
  void set_problem(const std::string& what);  // logged once per distinct problem
  void update_gauges();
  void add_routes();

  FleetOptions options_;
  Metrics& metrics_;
  JetStreamConsumer consumer_;
  std::unique_ptr<ApiServer> api_;

  mutable std::mutex state_mu_;
  FleetState state_;                              // guarded by state_mu_
  int64_t stream_created_ns_ = 0;                 // the stream incarnation the state belongs to (consumer thread)
  std::atomic<bool> state_write_failing_{false};  // the last state file write failed

  std::vector<JetStreamMessage> pending_;  // applied, not yet acknowledged (consumer thread)
  int64_t last_commit_mono_ns_ = 0;
  std::string last_problem_;

  std::thread thread_;
  std::atomic<Phase> phase_{Phase::kStopped};
  std::atomic<bool> stopping_{false};
  std::mutex wait_mu_;
  std::condition_variable wait_cv_;
  bool started_ = false;

  Counter* consumed_;
  Counter* applied_;
  Counter* duplicates_;
  Counter* invalid_;
  Counter* out_of_order_;
  Counter* acked_;
  Counter* ack_errors_;
  Counter* fetch_errors_;
  Counter* snapshots_;
  Counter* snapshot_errors_;
  Counter* rebuilds_;
  Counter* reconnects_;
  uint64_t reconnects_seen_ = 0;  // consumer thread
  Gauge* lag_;
  Gauge* pending_gauge_;
  Gauge* gateways_gauge_;
  Gauge* assets_gauge_;
  Gauge* open_alerts_gauge_;
  Gauge* connected_gauge_;
};

}  // namespace edgeloop::fleet
