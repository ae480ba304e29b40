#include "api/live_hub.h"

#include <charconv>
#include <chrono>
#include <cmath>

#include <nlohmann/json.hpp>

namespace edgeloop {

namespace {

std::string json_string(const std::string& s) {
  return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void append_number(std::string& out, double v) {
  if (!std::isfinite(v)) {
    out += "null";
    return;
  }
  char buf[32];
  const auto res = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, res.ptr);
}

void append_int(std::string& out, int64_t v) {
  char buf[24];
  const auto res = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, res.ptr);
}

std::string key_name(const KeyTable* keys, KeyId id) {
  if (id == kNoKey) return "";
  if (keys == nullptr) return "#" + std::to_string(id);
  return keys->name(id);
}

constexpr std::size_t kBacklog = 1024;  // readings and events in one pass

std::shared_ptr<const std::string> sse(const char* event, const std::string& data) {
  auto m = std::make_shared<std::string>();
  m->reserve(data.size() + 32);
  *m += "event: ";
  *m += event;
  *m += "\ndata: ";
  *m += data;
  *m += "\n\n";
  return m;
}

}  // namespace

// --- LiveBus ---

LiveBus& LiveBus::global() {
  static LiveBus bus;
  return bus;
}

void LiveBus::add(std::shared_ptr<LiveChannel> channel) {
  std::lock_guard lock(mu_);
  // Channels of stages gone and drained are forgotten here, so that a bus outlives runtimes.
  std::erase_if(channels_, [](const auto& c) { return c->closed.load() && c->ring.empty_approx() && c.use_count() == 1; });
  channels_.push_back(std::move(channel));
  generation_.fetch_add(1, std::memory_order_acq_rel);
}

std::vector<std::shared_ptr<LiveChannel>> LiveBus::channels() {
  std::lock_guard lock(mu_);
  return channels_;
}

// --- LiveStream ---

void LiveStream::push(int64_t ts_ns, const double* f, uint8_t n) {
  last_ts_ns = ts_ns;
  for (uint8_t i = 0; i < n; ++i) last[i] = f[i];
  if (nfields == 0 && ts.empty()) nfields = n;
  if (capacity == 0) return;
  std::size_t at;
  if (ts.size() < capacity) {
    at = ts.size();
    ts.push_back(ts_ns);
    values.resize(values.size() + nfields);
  } else {
    at = head;
    ts[at] = ts_ns;
    head = (head + 1) % capacity;
  }
  for (uint8_t i = 0; i < nfields; ++i) {
    values[at * nfields + i] = i < n ? static_cast<float>(f[i]) : std::nanf("");
  }
}

void LiveStream::tail(std::size_t n, std::vector<int64_t>& ts_out, std::vector<std::vector<double>>& values_out) const {
  const std::size_t have = ts.size();
  n = std::min(n, have);
  ts_out.clear();
  values_out.assign(nfields, {});
  // Oldest point: index 0 until the ring wrapped, then `head`.
  const std::size_t oldest = have < capacity ? 0 : head;
  for (std::size_t k = have - n; k < have; ++k) {
    const std::size_t at = (oldest + k) % have;
    ts_out.push_back(ts[at]);
    for (uint8_t i = 0; i < nfields; ++i) values_out[i].push_back(values[at * nfields + i]);
  }
}

// --- LiveClient ---

LiveClient::LiveClient(std::size_t capacity, std::vector<std::string> keys, Counter* dropped_total)
    : capacity_(std::max<std::size_t>(capacity, 1)),
      keys_(keys.begin(), keys.end()),
      dropped_total_(dropped_total) {}

void LiveClient::push(const std::vector<std::pair<std::string, std::shared_ptr<const std::string>>>& batch) {
  bool any = false;
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    for (const auto& [key, msg] : batch) {
      if (!key.empty() && !wants(key)) continue;
      if (queue_.size() >= capacity_) {
        queue_.pop_front();
        ++dropped_;
        ++dropped_unsent_;
        if (dropped_total_) dropped_total_->add();
      }
      queue_.push_back(msg);
      any = true;
    }
  }
  if (any) cv_.notify_one();
}

bool LiveClient::take(std::string& out, int64_t timeout_ns) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, std::chrono::nanoseconds(timeout_ns),
               [&] { return closed_ || !queue_.empty() || dropped_unsent_ != 0; });
  if (dropped_unsent_ != 0) {
    out += "event: dropped\ndata: {\"count\":";
    append_int(out, static_cast<int64_t>(dropped_unsent_));
    out += "}\n\n";
    dropped_unsent_ = 0;
  }
  for (const auto& m : queue_) out += *m;
  queue_.clear();
  return !closed_;
}

void LiveClient::close() {
  {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  cv_.notify_all();
}

uint64_t LiveClient::dropped() const {
  std::lock_guard lock(mu_);
  return dropped_;
}

// --- LiveHub ---

LiveHub::LiveHub(LiveHubOptions options, Metrics& metrics, LiveBus& bus)
    : options_(options), metrics_(metrics), bus_(bus), state_(options.max_closed_alerts) {
  client_dropped_ = &metrics_.counter("edgeloop_api_live_dropped_total",
                                      "Live feed messages dropped because an SSE client's buffer was full.");
  stage_dropped_ = &metrics_.counter("edgeloop_live_stage_dropped_total",
                                     "Readings op.live dropped because its ring to the live hub was full.");
  events_dropped_ = &metrics_.counter("edgeloop_live_events_dropped_total",
                                      "Insight events the live hub dropped because it fell behind (alerts are never dropped).");
  metrics_.gauge("edgeloop_api_live_clients", "Open SSE live feeds.");
}

LiveHub::~LiveHub() { stop(); }

void LiveHub::start() {
  if (thread_.joinable()) return;
  {
    std::lock_guard lock(run_mu_);
    stop_ = false;
  }
  thread_ = std::thread([this] { run(); });
}

void LiveHub::stop() {
  {
    std::lock_guard lock(run_mu_);
    stop_ = true;
  }
  run_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(clients_mu_);
  for (auto& c : clients_) c->close();
}

void LiveHub::run() {
  while (true) {
    const std::size_t n = poll_once();
    std::unique_lock lock(run_mu_);
    if (stop_) break;
    // Batches, not a spin: a wake-up per idle_wait costs the loop's cores little; only a
    // backlog (a burst that could fill the rings) is worked off at once.
    if (n < kBacklog) run_cv_.wait_for(lock, std::chrono::nanoseconds(options_.idle_wait_ns), [&] { return stop_; });
  }
  poll_once();  // what the stages handed over last
}

void LiveHub::refresh_channels() {
  const uint64_t gen = bus_.generation();
  if (gen == bus_generation_) return;
  bus_generation_ = gen;
  auto now = bus_.channels();
  // A stage gone and drained (a runtime built for `check`, then destroyed) has nothing more.
  std::erase_if(now, [](const auto& c) { return c->closed.load() && c->ring.empty_approx(); });
  std::vector<uint32_t> groups;
  std::vector<uint64_t> seen;
  for (const auto& c : now) {
    auto [it, inserted] = groups_.try_emplace({c->pipeline, c->stage, c->keys});
    Group& g = it->second;
    if (inserted) {
      g.index = static_cast<uint32_t>(group_by_index_.size());
      g.fields = c->fields;
      g.pipeline = c->pipeline;
      g.stage = c->stage;
      for (const auto& f : g.fields) g.field_prefixes.push_back(json_string(f) + ":");
      group_by_index_.push_back(&g);
      std::lock_guard lock(state_mu_);
      stream_index_.emplace_back();
    }
    groups.push_back(g.index);
    uint64_t prev = 0;
    for (std::size_t i = 0; i < channels_.size(); ++i)
      if (channels_[i] == c) prev = channel_dropped_seen_[i];
    seen.push_back(prev);
  }
  channels_ = std::move(now);
  channel_group_ = std::move(groups);
  channel_dropped_seen_ = std::move(seen);
}

void LiveHub::on_event(const Event& e, const KeyTable* keys) {
  std::lock_guard lock(pending_mu_);
  if (e.kind == EventKind::kInsight && pending_.size() >= options_.max_pending_events) {
    events_dropped_->add();
    return;
  }
  pending_.push_back({e, keys});
}

std::size_t LiveHub::poll_once() {
  std::lock_guard poll_lock(poll_mu_);
  refresh_channels();
  // Take what the shards handed over, without the state lock: the rings are ours alone.
  drained_.clear();
  for (std::size_t i = 0; i < channels_.size(); ++i) {
    LiveChannel& c = *channels_[i];
    LiveReading* r;
    while ((r = c.ring.front()) != nullptr) {
      drained_.push_back({channel_group_[i], c.keys, *r});
      c.ring.pop();
    }
    const uint64_t dropped = c.dropped.load(std::memory_order_relaxed);
    if (dropped != channel_dropped_seen_[i]) {
      stage_dropped_->add(dropped - channel_dropped_seen_[i]);
      channel_dropped_seen_[i] = dropped;
    }
  }
  {
    std::lock_guard lock(pending_mu_);
    pending_swap_.swap(pending_);
  }
  const bool build = n_clients_.load(std::memory_order_acquire) > 0;
  Batch batch;
  {
    std::lock_guard lock(state_mu_);
    for (const auto& d : drained_) apply(d, build, batch);
    for (const auto& p : pending_swap_) handle_event(p, batch);
  }
  const std::size_t n = drained_.size() + pending_swap_.size();
  pending_swap_.clear();
  if (!batch.empty()) fan_out(batch);
  return n;
}

void LiveHub::apply(const Drained& d, bool build, Batch& batch) {
  const Group& g = *group_by_index_[d.group];
  auto& index = stream_index_[d.group];
  LiveStream*& s = index[d.r.key];
  if (s == nullptr) {
    const std::string key = key_name(d.keys, d.r.key);
    LiveStream& st = state_.streams[key + '\x1f' + g.pipeline + '\x1f' + g.stage];
    st.key = key;
    st.pipeline = g.pipeline;
    st.stage = g.stage;
    st.fields = &g.fields;
    st.capacity = options_.history_points;
    st.json_prefix = "{\"key\":" + json_string(key) + ",\"pipeline\":" + json_string(g.pipeline) +
                     ",\"stage\":" + json_string(g.stage);
    s = &st;
  }
  const uint8_t n = std::min<uint8_t>(d.r.nfields, static_cast<uint8_t>(std::min(g.fields.size(), kMaxFields)));
  s->push(d.r.ts_ns, d.r.f.data(), n);
  if (!build) return;
  auto m = std::make_shared<std::string>();
  m->reserve(s->json_prefix.size() + 64 + 24 * n);
  *m += "event: reading\ndata: ";
  *m += s->json_prefix;
  *m += ",\"ts_ns\":";
  append_int(*m, d.r.ts_ns);
  *m += ",\"values\":{";
  for (uint8_t i = 0; i < n; ++i) {
    if (i) *m += ',';
    *m += g.field_prefixes[i];
    append_number(*m, d.r.f[i]);
  }
  *m += "}}\n\n";
  batch.emplace_back(s->key, std::move(m));
}

void LiveHub::handle_event(const Pending& p, Batch& batch) {
  const Event& e = p.event;
  ++state_.events_total;
  const std::string key = key_name(p.keys, e.key);
  const std::string pipeline = e.pipeline_name ? *e.pipeline_name : std::to_string(e.pipeline);
  const std::string name = e.name ? *e.name : "";
  std::vector<std::pair<std::string, double>> values;
  for (uint8_t i = 0; i < e.nfields && i < kMaxFields; ++i) {
    const std::string field = e.schema && i < e.schema->size() ? e.schema->name(i) : "f" + std::to_string(i);
    values.emplace_back(field, e.f[i]);
  }
  if (e.kind == EventKind::kAlert && (e.state == AlertState::kRaised || e.state == AlertState::kCleared)) {
    const Alert& a = e.state == AlertState::kRaised
                         ? state_.alerts.raise(key, pipeline, name, severity_name(e.severity), e.ts_ns, std::move(values))
                         : state_.alerts.clear(key, pipeline, name, severity_name(e.severity), e.ts_ns, std::move(values));
    if (n_clients_.load(std::memory_order_acquire) > 0) batch.emplace_back(std::string(), sse("alert", alert_json(a)));
    return;
  }
  if (n_clients_.load(std::memory_order_acquire) == 0) return;
  nlohmann::json j;
  j["kind"] = event_kind_name(e.kind);
  j["key"] = key;
  j["pipeline"] = pipeline;
  j["name"] = name;
  j["ts_ns"] = e.ts_ns;
  nlohmann::json v = nlohmann::json::object();
  for (const auto& [f, x] : values) v[f] = x;
  j["values"] = std::move(v);
  batch.emplace_back(key, sse("event", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)));
}

void LiveHub::fan_out(Batch& batch) {
  std::vector<std::shared_ptr<LiveClient>> clients;
  {
    std::lock_guard lock(clients_mu_);
    clients = clients_;
  }
  for (auto& c : clients) c->push(batch);
}

std::shared_ptr<LiveClient> LiveHub::subscribe(std::vector<std::string> keys) {
  auto c = std::make_shared<LiveClient>(options_.client_buffer, std::move(keys), client_dropped_);
  std::lock_guard lock(clients_mu_);
  clients_.push_back(c);
  n_clients_.store(clients_.size(), std::memory_order_release);
  metrics_.gauge("edgeloop_api_live_clients", "Open SSE live feeds.").set(static_cast<double>(clients_.size()));
  return c;
}

void LiveHub::unsubscribe(const std::shared_ptr<LiveClient>& client) {
  client->close();
  std::lock_guard lock(clients_mu_);
  std::erase(clients_, client);
  n_clients_.store(clients_.size(), std::memory_order_release);
  metrics_.gauge("edgeloop_api_live_clients", "Open SSE live feeds.").set(static_cast<double>(clients_.size()));
}

std::size_t LiveHub::clients() const { return n_clients_.load(std::memory_order_acquire); }

void LiveHub::with_state(const std::function<void(const LiveState&)>& fn) const {
  std::lock_guard lock(state_mu_);
  fn(state_);
}

Result<std::string> LiveHub::ack(const std::string& id, const std::string& by, const std::string& comment,
                                 int64_t now_ns) {
  std::string json;
  {
    std::lock_guard lock(state_mu_);
    EDGELOOP_ASSIGN_OR_RETURN(const Alert* a, state_.alerts.ack(id, by, comment, now_ns));
    json = alert_json(*a);
  }
  Batch batch;
  batch.emplace_back(std::string(), sse("alert", json));
  fan_out(batch);
  return json;
}

Result<std::string> LiveHub::comment(const std::string& id, const std::string& by, const std::string& text,
                                     int64_t now_ns) {
  std::string json;
  {
    std::lock_guard lock(state_mu_);
    EDGELOOP_ASSIGN_OR_RETURN(const Alert* a, state_.alerts.comment(id, by, text, now_ns));
    json = alert_json(*a);
  }
  Batch batch;
  batch.emplace_back(std::string(), sse("alert", json));
  fan_out(batch);
  return json;
}

}  // namespace edgeloop
