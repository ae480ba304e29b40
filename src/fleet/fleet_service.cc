#include "fleet/fleet_service.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/clock.h"
#include "fleet/state_file.h"

namespace edgeloop::fleet {

namespace {

constexpr int64_t kMinBackoffNs = 100 * kNsPerMs;
constexpr int64_t kMaxBackoffNs = 5 * kNsPerSec;
// Fetch errors in a row before the subscription is set up again (a deleted consumer, a
// stream recreated under us): a short outage reconnects without that.
constexpr int kFetchErrorsBeforeResubscribe = 5;

JetStreamConsumerConfig consumer_config(const FleetOptions& o) {
  JetStreamConsumerConfig c;
  c.servers = o.servers;
  c.stream = o.stream;
  c.durable = o.durable;
  c.subject = o.subject;
  c.domain = o.domain;
  c.ack_wait_ns = o.ack_wait_ns;
  c.max_ack_pending = o.max_ack_pending;
  c.client_name = "edgeloop-fleet/" + o.durable;
  return c;
}

FleetQuery query_of(const httplib::Request& req) {
  FleetQuery q;
  q.gateway = req.get_param_value("gateway");
  q.key = req.get_param_value("key");
  q.severity = req.get_param_value("severity");
  return q;
}

}  // namespace

FleetService::FleetService(FleetOptions options, Metrics& metrics)
    : options_(std::move(options)),
      metrics_(metrics),
      consumer_(consumer_config(options_)),
      state_(FleetLimits{static_cast<std::size_t>(options_.dedup_ids)}) {
  consumed_ = &metrics_.counter("edgeloop_fleet_consumed_total", "Messages pulled from the stream.");
  applied_ = &metrics_.counter("edgeloop_fleet_applied_total", "Events applied to the fleet state (first time seen).");
  duplicates_ = &metrics_.counter("edgeloop_fleet_duplicates_total",
                                  "Messages whose event id was applied before (redeliveries, re-sends): skipped.");
  invalid_ = &metrics_.counter("edgeloop_fleet_invalid_total", "Messages that are not an edgeloop event: skipped.");
  out_of_order_ = &metrics_.counter("edgeloop_fleet_out_of_order_total",
                                    "Events older than what their alert or insight already shows: counted only.");
  acked_ = &metrics_.counter("edgeloop_fleet_acked_total", "Messages acknowledged (after the state holding them).");
  ack_errors_ = &metrics_.counter("edgeloop_fleet_ack_errors_total", "Acknowledgements that could not be sent.");
  fetch_errors_ = &metrics_.counter("edgeloop_fleet_fetch_errors_total", "Pull requests that failed.");
  snapshots_ = &metrics_.counter("edgeloop_fleet_state_writes_total", "Writes of the state file.");
  snapshot_errors_ = &metrics_.counter("edgeloop_fleet_state_write_errors_total", "Failed writes of the state file.");
  rebuilds_ =
      &metrics_.counter("edgeloop_fleet_rebuilds_total", "Times the state was discarded and rebuilt by replay.");
  reconnects_ = &metrics_.counter("edgeloop_fleet_reconnects_total",
                                  "Times libnats reconnected (to the same or another server) after a lost connection.");
  lag_ = &metrics_.gauge("edgeloop_fleet_lag_messages",
                         "Messages in the stream not yet delivered to this consumer (as of the last pull).");
  pending_gauge_ = &metrics_.gauge("edgeloop_fleet_unacked_messages", "Messages applied, awaiting the state write.");
  gateways_gauge_ = &metrics_.gauge("edgeloop_fleet_gateways", "Gateways known.");
  assets_gauge_ = &metrics_.gauge("edgeloop_fleet_assets", "Assets (gateway, key) known.");
  open_alerts_gauge_ = &metrics_.gauge("edgeloop_fleet_open_alerts", "Alerts raised and not cleared.");
  connected_gauge_ = &metrics_.gauge("edgeloop_fleet_connected", "1 while subscribed and connected to NATS.");
}

FleetService::~FleetService() {
  stop();
}

Status FleetService::start() {
  if (started_) return make_error(Errc::kInvalidArgument, "fleet: already started");
  if (!options_.state_path.empty()) {
    EDGELOOP_ASSIGN_OR_RETURN(auto text, read_state_file(options_.state_path));
    if (text && options_.rebuild) {
      spdlog::info("fleet: --rebuild: ignoring the state in {}", options_.state_path);
    } else if (text) {
      auto loaded = FleetState::from_snapshot(*text, options_.stream, options_.durable,
                                              FleetLimits{static_cast<std::size_t>(options_.dedup_ids)});
      if (!loaded.ok()) {
        return make_error(loaded.error().code, options_.state_path + ": " + loaded.error().message +
                                                   " (remove the file or start with --rebuild)");
      }
      std::lock_guard lock(state_mu_);
      state_ = std::move(loaded).value();
      stream_created_ns_ = state_.stream_created_ns();
      spdlog::info("fleet: state from {}: {} gateways, {} assets, {} open alerts, up to stream sequence {}",
                   options_.state_path, state_.gateway_count(), state_.asset_count(), state_.open_alert_count(),
                   state_.last_stream_seq());
    }
  }
  update_gauges();

  ApiOptions api;
  api.listen = options_.http_listen;
  api.port = options_.http_port;
  api_ = std::make_unique<ApiServer>(api, metrics_, [this] { return health(); });
  add_routes();
  if (auto st = api_->start(); !st.ok()) {
    api_.reset();
    return st;
  }
  stopping_.store(false);
  phase_.store(Phase::kConnecting);
  thread_ = std::thread([this] { run(); });
  started_ = true;
  return Status::Ok();
}

void FleetService::stop() {
  {
    std::lock_guard lock(wait_mu_);
    stopping_.store(true);
  }
  wait_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (api_) api_->stop();
  phase_.store(Phase::kStopped);
}

void FleetService::add_routes() {
  api_->add_get("/api/v1/fleet/gateways", [this](const httplib::Request& req, httplib::Response& res) {
    res.set_content(gateways_json(query_of(req)), "application/json");
  });
  api_->add_get("/api/v1/fleet/assets", [this](const httplib::Request& req, httplib::Response& res) {
    res.set_content(assets_json(query_of(req)), "application/json");
  });
  api_->add_get("/api/v1/fleet/alerts", [this](const httplib::Request& req, httplib::Response& res) {
    res.set_content(alerts_json(query_of(req)), "application/json");
  });
}

HealthReport FleetService::health() const {
  HealthReport h;
  const Phase phase = phase_.load();
  const bool link_down = consumer_.disconnects() > consumer_.reconnects();
  std::string nats_state;
  switch (phase) {
    case Phase::kStopped:
      nats_state = "stopped";
      break;
    case Phase::kConnecting:
      nats_state = "connecting";
      break;
    case Phase::kWaitingForStream:
      nats_state = "waiting for stream " + options_.stream;
      break;
    case Phase::kSubscribed:
      nats_state = link_down ? "reconnecting" : "connected";
      break;
  }
  h.components.push_back({options_.durable, "consumer", nats_state});
  const bool write_failing = state_write_failing_.load();
  if (!options_.state_path.empty()) {
    h.components.push_back({options_.state_path, "store", write_failing ? "degraded" : "connected"});
  }
  // The last known state is still served while the link or the disk is down.
  h.status = (phase == Phase::kSubscribed && !link_down && !write_failing) ? "ok" : "degraded";
  return h;
}

std::string FleetService::gateways_json(const FleetQuery& q) const {
  std::lock_guard lock(state_mu_);
  return state_.gateways_json(q, unix_now_ns(), options_.stale_after_ns);
}

std::string FleetService::assets_json(const FleetQuery& q) const {
  std::lock_guard lock(state_mu_);
  return state_.assets_json(q);
}

std::string FleetService::alerts_json(const FleetQuery& q) const {
  std::lock_guard lock(state_mu_);
  return state_.alerts_json(q);
}

std::vector<AlertKey> FleetService::open_alerts() const {
  std::lock_guard lock(state_mu_);
  return state_.open_alerts();
}

uint64_t FleetService::last_stream_seq() const {
  std::lock_guard lock(state_mu_);
  return state_.last_stream_seq();
}

void FleetService::wait_for_ns(int64_t ns) {
  std::unique_lock lock(wait_mu_);
  wait_cv_.wait_for(lock, std::chrono::nanoseconds(ns), [this] { return stopping_.load(); });
}

void FleetService::set_problem(const std::string& what) {
  if (what == last_problem_) return;
  const bool recovered = what.empty();
  last_problem_ = what;
  if (recovered)
    spdlog::info("fleet: consuming again");
  else
    spdlog::warn("fleet: {}", what);
}

void FleetService::update_gauges() {
  std::lock_guard lock(state_mu_);
  gateways_gauge_->set(static_cast<double>(state_.gateway_count()));
  assets_gauge_->set(static_cast<double>(state_.asset_count()));
  open_alerts_gauge_->set(static_cast<double>(state_.open_alert_count()));
}

Status FleetService::setup_subscription() {
  auto found = consumer_.stream_progress();
  if (!found.ok() && found.error().code == Errc::kNotFound && options_.create_stream) {
    EDGELOOP_TRY(consumer_.create_stream(options_.replicas, options_.duplicate_window_ns));
    spdlog::info("fleet: created stream {} (subjects {}, {} replica(s), duplicate window {} s)", options_.stream,
                 options_.subject, options_.replicas, options_.duplicate_window_ns / kNsPerSec);
    found = consumer_.stream_progress();
  }
  if (!found.ok()) return found.error();
  const StreamProgress stream = *found;
  EDGELOOP_ASSIGN_OR_RETURN(ConsumerProgress durable, consumer_.consumer_progress());
  uint64_t last = 0;
  {
    std::lock_guard lock(state_mu_);
    last = state_.last_stream_seq();
  }
  // Can the state and the durable go on together? The state must belong to this incarnation
  // of the stream and hold everything the durable has acknowledged.
  std::string rebuild;
  if (options_.rebuild) {
    rebuild = "--rebuild";
  } else if (last > 0 && stream_created_ns_ != 0 && stream_created_ns_ != stream.created_ns) {
    rebuild = "the stream " + options_.stream + " was recreated since the state was written";
  } else if (last > stream.last_seq) {
    rebuild = "the state has seen sequence " + std::to_string(last) + " but the stream ends at " +
              std::to_string(stream.last_seq) + " (recreated?)";
  } else if (durable.exists && durable.ack_floor_stream_seq > last) {
    rebuild = "the durable " + options_.durable + " acknowledged up to sequence " +
              std::to_string(durable.ack_floor_stream_seq) + " but the state holds up to " + std::to_string(last) +
              (options_.state_path.empty() ? " (no state file)" : " (an older or missing state file)");
  }
  if (!rebuild.empty()) {
    spdlog::info("fleet: rebuilding the state by replaying stream {} ({} messages): {}", options_.stream,
                 stream.messages, rebuild);
    EDGELOOP_TRY(consumer_.delete_consumer());
    {
      std::lock_guard lock(state_mu_);
      state_.clear();
    }
    pending_.clear();  // their acks would go to a deleted consumer
    durable = ConsumerProgress{};
    last = 0;
    options_.rebuild = false;  // once
    rebuilds_->add();
    update_gauges();
  }
  stream_created_ns_ = stream.created_ns;
  {
    std::lock_guard lock(state_mu_);
    state_.set_stream_created_ns(stream.created_ns);
  }
  EDGELOOP_TRY(consumer_.subscribe(durable.exists, durable.exists || last == 0 ? 0 : last + 1));
  spdlog::info("fleet: consuming {} from stream {} as durable {} ({}; {} messages in the stream)", options_.subject,
               options_.stream, options_.durable,
               durable.exists ? "resuming after sequence " + std::to_string(durable.ack_floor_stream_seq)
                              : "from sequence " + std::to_string(std::max<uint64_t>(last + 1, stream.first_seq)),
               stream.messages);
  return Status::Ok();
}

void FleetService::apply_batch(std::vector<JetStreamMessage>& msgs) {
  if (msgs.empty()) return;
  const int64_t now = unix_now_ns();
  uint64_t applied = 0, duplicates = 0, invalid = 0, out_of_order = 0;
  {
    std::lock_guard lock(state_mu_);
    for (auto& m : msgs) {
      auto event = parse_fleet_event(m.data(), m.subject());
      if (!event.ok()) {
        invalid++;
        state_.note_sequence(m.stream_seq());
        if (invalid == 1) {
          spdlog::warn("fleet: skipping stream sequence {} on {}: {}", m.stream_seq(), m.subject(),
                       event.error().message);
        }
        continue;
      }
      std::string id = event->id.empty() ? m.msg_id() : event->id;
      switch (state_.apply(*event, id, m.stream_seq(), now)) {
        case ApplyOutcome::kApplied:
          applied++;
          break;
        case ApplyOutcome::kOutOfOrder:
          applied++;
          out_of_order++;
          break;
        case ApplyOutcome::kDuplicate:
          duplicates++;
          break;
      }
    }
  }
  consumed_->add(msgs.size());
  applied_->add(applied);
  duplicates_->add(duplicates);
  invalid_->add(invalid);
  out_of_order_->add(out_of_order);
  lag_->set(static_cast<double>(msgs.back().num_pending()));
  for (auto& m : msgs) pending_.push_back(std::move(m));
  msgs.clear();
  pending_gauge_->set(static_cast<double>(pending_.size()));
  update_gauges();
}

void FleetService::commit(bool force) {
  if (pending_.empty()) return;
  const int64_t now = mono_now_ns();
  if (!options_.state_path.empty()) {
    const bool due = force || now - last_commit_mono_ns_ >= options_.snapshot_interval_ns ||
                     static_cast<int64_t>(pending_.size()) * 2 >= options_.max_ack_pending;
    if (!due) return;
    std::string snapshot;
    {
      std::lock_guard lock(state_mu_);
      snapshot = state_.to_snapshot(options_.stream, options_.durable);
    }
    if (auto st = write_file_atomic(options_.state_path, snapshot); !st.ok()) {
      // Not acknowledged: the server redelivers after ack_wait; the next interval tries again.
      snapshot_errors_->add();
      if (!state_write_failing_.exchange(true)) spdlog::error("fleet: {}", st.error().message);
      last_commit_mono_ns_ = now;
      return;
    }
    if (state_write_failing_.exchange(false)) spdlog::info("fleet: the state file is written again");
    snapshots_->add();
  }
  uint64_t acked = 0, failed = 0;
  for (const auto& m : pending_) {
    if (consumer_.ack(m).ok())
      acked++;
    else
      failed++;
  }
  acked_->add(acked);
  ack_errors_->add(failed);
  pending_.clear();
  pending_gauge_->set(0);
  last_commit_mono_ns_ = now;
}

void FleetService::run() {
  int64_t backoff = kMinBackoffNs;
  int fetch_errors_in_row = 0;
  std::vector<JetStreamMessage> batch;
  const int64_t fetch_wait_ms = std::max<int64_t>(1, options_.fetch_wait_ns / kNsPerMs);
  while (!stopping_.load()) {
    if (!consumer_.has_connection()) {
      phase_.store(Phase::kConnecting);
      if (auto st = consumer_.connect(); !st.ok()) {
        set_problem(st.error().message);
        wait_for_ns(backoff);
        backoff = std::min(backoff * 2, kMaxBackoffNs);
        continue;
      }
    }
    if (!consumer_.subscribed()) {
      if (auto st = setup_subscription(); !st.ok()) {
        phase_.store(Phase::kWaitingForStream);
        set_problem(st.error().message);
        wait_for_ns(backoff);
        backoff = std::min(backoff * 2, kMaxBackoffNs);
        continue;
      }
      set_problem("");
      backoff = kMinBackoffNs;
      fetch_errors_in_row = 0;
      phase_.store(Phase::kSubscribed);
    }
    connected_gauge_->set(consumer_.disconnects() > consumer_.reconnects() ? 0 : 1);
    if (const uint64_t r = consumer_.reconnects(); r > reconnects_seen_) {
      reconnects_->add(r - reconnects_seen_);
      reconnects_seen_ = r;
    }

    int64_t wait_ms = fetch_wait_ms;
    if (!pending_.empty() && !options_.state_path.empty()) {
      // Wake up in time for the next state write.
      const int64_t left = options_.snapshot_interval_ns - (mono_now_ns() - last_commit_mono_ns_);
      wait_ms = std::clamp<int64_t>(left / kNsPerMs, 1, fetch_wait_ms);
    }
    if (auto st = consumer_.fetch(options_.batch, wait_ms, batch); !st.ok()) {
      fetch_errors_->add();
      set_problem(st.error().message);
      if (++fetch_errors_in_row >= kFetchErrorsBeforeResubscribe) {
        consumer_.drop_subscription();
        phase_.store(Phase::kWaitingForStream);
      }
      commit(false);
      wait_for_ns(backoff);
      backoff = std::min(backoff * 2, kMaxBackoffNs);
      continue;
    }
    if (fetch_errors_in_row > 0) set_problem("");
    fetch_errors_in_row = 0;
    backoff = kMinBackoffNs;
    if (batch.empty() && wait_ms == fetch_wait_ms) lag_->set(0);  // a full pull found nothing: caught up
    apply_batch(batch);
    commit(false);
  }
  commit(true);
  if (consumer_.has_connection()) (void)consumer_.flush(1000);
  consumer_.close();
  connected_gauge_->set(0);
}

}  // namespace edgeloop::fleet
