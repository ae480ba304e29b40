// The live side of the API: op.live stages hand decimated readings to the hub through one
// bounded SPSC ring per stage instance (LiveChannel, found on a LiveBus); the hub's thread
// drains them, keeps the latest values and a history ring per stream (key, pipeline, stage),
// keeps the alert table from the runtime's events, and fans messages out to SSE clients, each
// with a bounded buffer that drops its oldest messages when the client does not keep up.
// Nothing here can slow a shard: a full ring or buffer drops and counts.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "api/alert_table.h"
#include "core/key_table.h"
#include "core/metrics.h"
#include "core/record.h"
#include "core/spsc_ring.h"

namespace edgeloop {

// One reading as op.live hands it over: fixed size, copied through the ring, no allocation.
struct LiveReading {
  KeyId key = kNoKey;
  uint8_t nfields = 0;
  int64_t ts_ns = 0;
  std::array<double, kMaxFields> f{};
};

// The ring of one op.live instance (one per shard) and what names its readings.
struct LiveChannel {
  explicit LiveChannel(std::size_t capacity) : ring(capacity) {}
  SpscRing<LiveReading> ring;         // producer: the shard thread; consumer: the hub
  std::string pipeline;
  std::string stage;
  std::vector<std::string> fields;    // names of f[0..]
  const KeyTable* keys = nullptr;     // names of LiveReading::key (null: "#<id>")
  std::atomic<uint64_t> dropped{0};   // ring full; single writer (the shard)
  std::atomic<bool> closed{false};    // the stage is gone: the hub drains it and forgets it
};

// Where op.live instances put their channels and hubs find them. One per process
// (global()); tests make their own.
class LiveBus {
 public:
  static LiveBus& global();
  void add(std::shared_ptr<LiveChannel> channel);
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  // The channels not yet closed-and-collected.
  std::vector<std::shared_ptr<LiveChannel>> channels();

 private:
  std::mutex mu_;
  std::vector<std::shared_ptr<LiveChannel>> channels_;
  std::atomic<uint64_t> generation_{0};
};

struct LiveHubOptions {
  std::size_t client_buffer = 1024;    // messages per SSE client (http.live_buffer)
  std::size_t history_points = 600;    // per stream
  std::size_t max_closed_alerts = 1000;
  std::size_t max_pending_events = 65536;  // insights waiting for the hub; past it they drop
  int64_t idle_wait_ns = 10'000'000;   // the hub's nap between passes (unless behind)
};

// One stream's last values and history (ts and values by field, oldest first once read).
struct LiveStream {
  std::string key;
  std::string pipeline;
  std::string stage;
  std::string json_prefix;  // `{"key":..,"pipeline":..,"stage":..` for SSE messages
  const std::vector<std::string>* fields = nullptr;  // owned by the hub's group
  int64_t last_ts_ns = 0;
  std::array<double, kMaxFields> last{};
  uint8_t nfields = 0;
  // History ring: `capacity` points, allocated as they come.
  std::size_t capacity = 0;
  std::size_t head = 0;  // next write once full
  std::vector<int64_t> ts;
  std::vector<float> values;  // point-major, nfields per point
  std::size_t points() const { return ts.size(); }
  void push(int64_t ts_ns, const double* f, uint8_t n);
  // The newest `n` points in time order, as (ts, values by field).
  void tail(std::size_t n, std::vector<int64_t>& ts_out, std::vector<std::vector<double>>& values_out) const;
};

// What the HTTP views read, under the hub's lock.
struct LiveState {
  std::map<std::string, LiveStream> streams;  // by "key\x1fpipeline\x1fstage"
  AlertTable alerts;
  uint64_t events_total = 0;
  explicit LiveState(std::size_t max_closed) : alerts(max_closed) {}
};

// An SSE subscriber's buffer. The hub appends; the HTTP worker serving the client takes.
class LiveClient {
 public:
  LiveClient(std::size_t capacity, std::vector<std::string> keys, Counter* dropped_total);
  // Waits up to timeout_ns for messages, then appends what there is (a `dropped` notice
  // first when messages were lost) to `out`. False once closed.
  bool take(std::string& out, int64_t timeout_ns);
  void close();
  bool wants(const std::string& key) const { return keys_.empty() || keys_.count(key) != 0; }
  uint64_t dropped() const;

 private:
  friend class LiveHub;
  void push(const std::vector<std::pair<std::string, std::shared_ptr<const std::string>>>& batch);

  const std::size_t capacity_;
  const std::unordered_set<std::string> keys_;  // empty: every key
  Counter* dropped_total_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<const std::string>> queue_;
  uint64_t dropped_ = 0;          // ever
  uint64_t dropped_unsent_ = 0;   // not yet reported to the client
  bool closed_ = false;
};

class LiveHub {
 public:
  LiveHub(LiveHubOptions options, Metrics& metrics, LiveBus& bus = LiveBus::global());
  ~LiveHub();
  LiveHub(const LiveHub&) = delete;
  LiveHub& operator=(const LiveHub&) = delete;

  void start();
  // Joins the thread and closes every client. Idempotent.
  void stop();
  // One pass of the hub's work (rings, events, fan-out); what start()'s thread loops on.
  // Returns how many readings and events it handled. Tests call it directly.
  std::size_t poll_once();

  // The runtime's event listener (dispatch thread): queues the event, never blocks for long.
  // `keys` names Event::key and must outlive the hub's use of it.
  void on_event(const Event& e, const KeyTable* keys);

  std::shared_ptr<LiveClient> subscribe(std::vector<std::string> keys);
  void unsubscribe(const std::shared_ptr<LiveClient>& client);
  std::size_t clients() const;

  // Runs `fn` with the state under the hub's lock: keep it short (it holds the fan-out).
  void with_state(const std::function<void(const LiveState&)>& fn) const;
  // Operator actions: kNotFound for an unknown id. On success returns the alert as JSON
  // and sends it to the clients (`event: alert`).
  Result<std::string> ack(const std::string& id, const std::string& by, const std::string& comment, int64_t now_ns);
  Result<std::string> comment(const std::string& id, const std::string& by, const std::string& text, int64_t now_ns);

  const LiveHubOptions& options() const { return options_; }

 private:
  struct Group {  // the channels of one (pipeline, stage, key table): one per shard
    std::vector<std::string> fields;
    std::vector<std::string> field_prefixes;  // `"name":`, JSON-escaped
    std::string pipeline;
    std::string stage;
    uint32_t index = 0;
  };
  struct Drained {
    uint32_t group;
    const KeyTable* keys;
    LiveReading r;
  };
  struct Pending {
    Event event;
    const KeyTable* keys;
  };
  using Batch = std::vector<std::pair<std::string, std::shared_ptr<const std::string>>>;  // (key, message)
  void run();
  void refresh_channels();
  void apply(const Drained& d, bool build, Batch& batch);
  void handle_event(const Pending& p, Batch& batch);
  void fan_out(Batch& batch);

  LiveHubOptions options_;
  Metrics& metrics_;
  LiveBus& bus_;
  Counter* client_dropped_;
  Counter* stage_dropped_;
  Counter* events_dropped_;

  // Channels (hub thread only).
  uint64_t bus_generation_ = UINT64_MAX;
  std::vector<std::shared_ptr<LiveChannel>> channels_;
  std::vector<uint32_t> channel_group_;
  std::vector<uint64_t> channel_dropped_seen_;
  std::map<std::tuple<std::string, std::string, const KeyTable*>, Group> groups_;
  std::vector<std::unordered_map<KeyId, LiveStream*>> stream_index_;  // by group; under state_mu_
  std::vector<const Group*> group_by_index_;
  std::vector<Drained> drained_;  // hub thread only

  mutable std::mutex state_mu_;  // guards state_ and the streams' contents
  LiveState state_;

  std::mutex pending_mu_;
  std::vector<Pending> pending_;
  std::vector<Pending> pending_swap_;  // hub thread only

  mutable std::mutex clients_mu_;
  std::vector<std::shared_ptr<LiveClient>> clients_;
  std::atomic<std::size_t> n_clients_{0};

  std::mutex poll_mu_;  // one poll_once at a time
  std::mutex run_mu_;
  std::condition_variable run_cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace edgeloop
