// What the fleet knows: per gateway and per asset (gateway, key) the latest state, and every
// alert identity (gateway, pipeline, stage, key) with whether it is open (raised, not cleared).
// Events are applied once: by their id (a bounded FIFO of recent ids) and, within an asset
// or an alert, by event time, so that a late or repeated event never moves state backwards.
// Single-threaded: the owner locks around it.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_set>
#include <vector>

#include "core/result.h"
#include "fleet/fleet_event.h"

namespace edgeloop::fleet {

enum class ApplyOutcome : uint8_t {
  kApplied,     // new: the state took it in
  kOutOfOrder,  // new, but older than what its alert already shows: counted, state unchanged
  kDuplicate,   // its id was applied before: nothing changed
};

struct FleetLimits {
  std::size_t dedup_ids = 100'000;  // how many recent event ids are remembered
};

struct InsightState {
  int64_t ts_ns = 0;
  std::string id;
  std::vector<std::pair<std::string, double>> fields;  // the latest insight's, NaN for null
};

struct AssetState {
  int64_t last_event_ns = 0;     // the newest event time seen
  int64_t last_received_ns = 0;  // when the fleet applied its latest event (Unix ns)
  uint64_t events = 0;
  // The latest insight per emitting (pipeline, stage).
  std::map<std::pair<std::string, std::string>, InsightState> insights;
  int64_t last_command_ns = 0;
  std::string last_command;  // "pipeline/stage" of the newest command
};

struct GatewayState {
  int64_t last_event_ns = 0;
  int64_t last_received_ns = 0;
  uint64_t events = 0;
};

// (gateway, pipeline, stage, key)
using AlertKey = std::tuple<std::string, std::string, std::string, std::string>;

struct AlertRecord {
  bool open = false;
  std::string severity;
  int64_t changed_ns = 0;                              // event time of the latest transition
  int64_t raised_ns = 0;                               // event time of the latest raise
  std::string id;                                      // the latest transition's event id
  std::vector<std::pair<std::string, double>> fields;  // the latest transition's fields
};

// Filters of the queries; empty: any.
struct FleetQuery {
  std::string gateway;
  std::string key;
  std::string severity;
};

class FleetState {
 public:
  explicit FleetState(FleetLimits limits = {});

  // `stream_seq`: the message's sequence in the stream (0: none); `id`: the de-duplication
  // id (the event's, else the message's Nats-Msg-Id; empty: no de-duplication).
  ApplyOutcome apply(const FleetEvent& e, const std::string& id, uint64_t stream_seq, int64_t received_ns);
  // Notes a stream sequence that was consumed without an event (an invalid message).
  void note_sequence(uint64_t stream_seq);

  // The highest stream sequence applied (0: none): where a restart resumes.
  uint64_t last_stream_seq() const { return last_stream_seq_; }
  bool empty() const { return last_stream_seq_ == 0 && gateways_.empty(); }
  void clear();
  // Identifies the stream's incarnation the sequences belong to (its creation time).
  int64_t stream_created_ns() const { return stream_created_ns_; }
  void set_stream_created_ns(int64_t ns) { stream_created_ns_ = ns; }

  std::size_t gateway_count() const { return gateways_.size(); }
  std::size_t asset_count() const { return assets_.size(); }
  std::size_t open_alert_count() const { return open_alerts_; }
  std::size_t remembered_ids() const { return id_order_.size(); }

  const std::map<std::string, GatewayState>& gateways() const { return gateways_; }
  const std::map<std::pair<std::string, std::string>, AssetState>& assets() const { return assets_; }
  const std::map<AlertKey, AlertRecord>& alerts() const { return alerts_; }
  // The open alerts, in (gateway, pipeline, stage, key) order.
  std::vector<AlertKey> open_alerts() const;

  // The HTTP API's answers (JSON objects). `now_ns` (Unix) and `stale_after_ns` decide which
  // gateways count as stale (no event received for that long; 0: never stale).
  std::string gateways_json(const FleetQuery& q, int64_t now_ns, int64_t stale_after_ns) const;
  std::string assets_json(const FleetQuery& q) const;
  std::string alerts_json(const FleetQuery& q) const;

  // The whole state as JSON (for the state file) and back. `meta` names what it belongs to
  // (stream and durable); from_snapshot checks it.
  std::string to_snapshot(const std::string& stream, const std::string& durable) const;
  static Result<FleetState> from_snapshot(std::string_view json, const std::string& stream, const std::string& durable,
                                          FleetLimits limits);

 private:
  bool remember(const std::string& id);  // false when already known
  void apply_alert(const FleetEvent& e, const std::string& id, ApplyOutcome& outcome);

  FleetLimits limits_;
  uint64_t last_stream_seq_ = 0;
  int64_t stream_created_ns_ = 0;
  std::map<std::string, GatewayState> gateways_;
  std::map<std::pair<std::string, std::string>, AssetState> assets_;  // (gateway, key)
  std::map<AlertKey, AlertRecord> alerts_;
  std::size_t open_alerts_ = 0;
  std::unordered_set<std::string> ids_;
  std::deque<std::string> id_order_;  // oldest first, for eviction
};

}  // namespace edgeloop::fleet
