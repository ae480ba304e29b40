#include "connectors/opcua/opcua_source.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <limits>

#include "core/clock.h"

namespace edgeloop {

using opcua::NodeId;

void add_opcua_connect_options(OptionTable& t) {
  t.push_back({"endpoint", OptionType::kString, "", "Server endpoint URL, `opc.tcp://host:port/path` (port 4840 when omitted). "
               "SecurityPolicy None only (no signing or encryption yet).", true});
  t.push_back({"username", OptionType::kString, "", "User name for a UserNameIdentityToken; empty: anonymous. With "
               "SecurityPolicy None the password travels unencrypted, so the server must offer a user token policy "
               "with securityPolicyUri None (a policy that wants it encrypted is refused)."});
  t.push_back({"password", OptionType::kString, "", "Password for `username`."});
  t.push_back({"timeout", OptionType::kDuration, "5s", "How long one request may take.", false, 0.001, 600});
}

Result<opcua::ClientConfig> opcua_connect_config(const Options& options) {
  opcua::ClientConfig c;
  c.endpoint = options.str("endpoint");
  if (auto e = opcua::EndpointUrl::parse(c.endpoint); !e.ok()) return options.error("endpoint", e.error().message);
  c.username = options.str("username");
  c.password = options.str("password");
  c.timeout_ms = static_cast<int>(options.duration_ns("timeout") / 1000000);
  if (c.timeout_ms < 1) c.timeout_ms = 1;
  return c;
}

const OptionTable& opcua_source_options() {
  static const OptionTable table = [] {
    OptionTable t;
    add_opcua_connect_options(t);
    t.push_back({"nodes", OptionType::kMap, "", "Field name to NodeId of the variables to monitor, e.g. "
                 "`{temp: \"ns=1;s=Temperature\", on: \"ns=1;s=Running\"}` (NodeId forms i=, s=, g=, b=). One stream "
                 "with key `key`. Either `nodes` or `groups`."});
    t.push_back({"key", OptionType::kString, "", "Stream key of the records from `nodes`; default: the source's name."});
    t.push_back({"groups", OptionType::kList, "", "Several streams: a list of `{key: line1/pump3, nodes: {field: NodeId}}`. "
                 "The source's schema is the union of the field names, in order; a group's record has NaN in the "
                 "fields it does not have."});
    t.push_back({"sampling_interval", OptionType::kDuration, "100ms", "Requested sampling interval of each monitored item "
                 "(the server may revise it).", false, 0, 3600});
    t.push_back({"publishing_interval", OptionType::kDuration, "100ms", "Requested publishing interval of the "
                 "subscription.", false, 0.001, 3600});
    t.push_back({"queue_size", OptionType::kInt, "10", "Server-side queue of each monitored item: changes between two "
                 "publishes are kept up to this many (oldest dropped).", false, 1, 100000});
    t.push_back({"publish_requests", OptionType::kInt, "3", "Publish requests kept outstanding, so the server always has "
                 "one to answer with.", false, 1, 20});
    t.push_back({"reconnect_min", OptionType::kDuration, "100ms", "First reconnect delay; doubles per failure.", false, 0.001, 3600});
    t.push_back({"reconnect_max", OptionType::kDuration, "10s", "Largest reconnect delay.", false, 0.001, 3600});
    return t;
  }();
  return table;
}

namespace {
Result<std::vector<std::pair<std::string, NodeId>>> parse_nodes(const ConfigNode& node, const Options& options,
                                                                const char* what) {
  if (!node.is_map() || node.entries().empty()) return options.error(what, "needs a map of field name to NodeId");
  std::vector<std::pair<std::string, NodeId>> out;
  for (const auto& [field, id] : node.entries()) {
    if (!id.is_scalar()) return options.error(what, "'" + field + "' must be a NodeId string such as \"ns=1;s=Temperature\"");
    auto n = NodeId::parse(id.str());
    if (!n.ok()) return options.error(what, n.error().message);
    out.emplace_back(field, std::move(n).value());
  }
  return out;
}
}  // namespace

Result<OpcuaSourceConfig> opcua_source_config(const Options& options) {
  OpcuaSourceConfig c;
  EDGELOOP_ASSIGN_OR_RETURN(c.client, opcua_connect_config(options));
  const ConfigNode* nodes = options.node("nodes");
  const ConfigNode* groups = options.node("groups");
  if ((nodes != nullptr) == (groups != nullptr)) return options.error("nodes", "give either `nodes` or `groups`");
  if (nodes) {
    OpcuaGroup g;
    g.key = options.str("key");
    EDGELOOP_ASSIGN_OR_RETURN(g.nodes, parse_nodes(*nodes, options, "nodes"));
    c.groups.push_back(std::move(g));
  } else {
    for (const ConfigNode& item : groups->items()) {
      const ConfigNode* key = item.is_map() ? item.find("key") : nullptr;
      const ConfigNode* n = item.is_map() ? item.find("nodes") : nullptr;
      if (!key || !key->is_scalar() || key->str().empty() || !n) {
        return options.error("groups", "each group needs `key` and `nodes`");
      }
      OpcuaGroup g;
      g.key = key->str();
      EDGELOOP_ASSIGN_OR_RETURN(g.nodes, parse_nodes(*n, options, "groups"));
      c.groups.push_back(std::move(g));
    }
    if (c.groups.empty()) return options.error("groups", "needs at least one group");
  }
  c.sampling_interval_ms = static_cast<double>(options.duration_ns("sampling_interval")) / 1e6;
  c.publishing_interval_ms = static_cast<double>(options.duration_ns("publishing_interval")) / 1e6;
  c.queue_size = static_cast<uint32_t>(options.integer("queue_size"));
  c.publish_requests = static_cast<uint32_t>(options.integer("publish_requests"));
  c.reconnect_min_ms = options.duration_ns("reconnect_min") / 1000000;
  c.reconnect_max_ms = options.duration_ns("reconnect_max") / 1000000;
  return c;
}

OpcuaSource::OpcuaSource(OpcuaSourceConfig config) : config_(std::move(config)) {}

OpcuaSource::~OpcuaSource() { stop(); }

Result<std::unique_ptr<OpcuaSource>> OpcuaSource::create(OpcuaSourceConfig config) {
  if (config.groups.empty()) return make_error(Errc::kInvalidArgument, "source.opcua needs nodes");
  std::unique_ptr<OpcuaSource> s(new OpcuaSource(std::move(config)));
  std::vector<std::string> names;
  for (std::size_t g = 0; g < s->config_.groups.size(); ++g) {
    for (const auto& [field, node] : s->config_.groups[g].nodes) {
      int idx = -1;
      for (std::size_t k = 0; k < names.size(); ++k)
        if (names[k] == field) idx = static_cast<int>(k);
      if (idx < 0) {
        names.push_back(field);
        idx = static_cast<int>(names.size()) - 1;
      }
      s->items_.push_back({g, idx});
    }
  }
  if (names.size() > kMaxFields) {
    return make_error(Errc::kTooLarge, "source.opcua: " + std::to_string(names.size()) + " distinct fields, at most " +
                                           std::to_string(kMaxFields));
  }
  s->schema_ = Schema(std::move(names));
  s->groups_.resize(s->config_.groups.size());
  return s;
}

Status OpcuaSource::start(SourceContext& ctx) {
  if (thread_.joinable()) return make_error(Errc::kInternal, "source " + ctx.name + ": started twice");
  if (!ctx.output || !ctx.keys) return make_error(Errc::kInvalidArgument, "source " + ctx.name + ": no output or key table");
  name_ = ctx.name;
  index_ = ctx.index;
  output_ = ctx.output;
  dead_letters_ = ctx.dead_letters;
  Metrics* m = ctx.metrics;
  if (!m) {
    own_metrics_ = std::make_unique<Metrics>();
    m = own_metrics_.get();
  }
  const Metrics::Labels src = {{"source", name_}};
  changes_ = &m->counter("edgeloop_opcua_value_changes_total", "OPC UA monitored-item value changes received.", src);
  bad_values_ = &m->counter("edgeloop_opcua_bad_values_total", "OPC UA values with a Bad status (forwarded as NaN).", src);
  records_ = &m->counter("edgeloop_source_records_total", "Records a source decoded and passed on.", src);
  malformed_ = &m->counter("edgeloop_source_errors_total", "Messages a source rejected (dead-lettered), by reason.",
                           {{"source", name_}, {"reason", "malformed"}});
  reconnects_ = &m->counter("edgeloop_connector_reconnects_total", "Connection attempts after the first.", {{"connector", name_}});
  up_ = &m->gauge("edgeloop_connector_up", "1 while the connector is connected to its peer, else 0.", {{"connector", name_}});
  for (std::size_t g = 0; g < groups_.size(); ++g) {
    const std::string key = config_.groups[g].key.empty() ? name_ : config_.groups[g].key;
    auto id = ctx.keys->intern(key, config_.client.endpoint, index_);
    if (!id.ok()) return id.error();
    groups_[g].key = *id;
  }
  stop_ = false;
  health_ = Health::kConnecting;
  thread_ = std::thread([this] { run(); });
  return Status::Ok();
}

void OpcuaSource::stop() {
  stop_ = true;
  // Idempotent: a second stop (the destructor's) touches nothing, as the metrics may be gone.
  if (!thread_.joinable()) return;
  thread_.join();
  health_ = Health::kDown;
  if (up_) up_->set(0);
}

void OpcuaSource::dead_letter(const std::string& reason, int64_t recv_ns) {
  malformed_->add();
  if (!dead_letters_) return;
  DeadLetter d;
  d.source = name_;
  d.reason = reason;
  d.topic = config_.client.endpoint;
  d.recv_ns = recv_ns;
  dead_letters_->write(std::move(d));
}

void OpcuaSource::run() {
  int64_t delay = config_.reconnect_min_ms;
  bool first = true;
  while (!stop_) {
    if (!first) reconnects_->add();
    first = false;
    opcua::UaClient client(config_.client);
    client.set_stop_flag(&stop_);
    Status st = client.connect();
    if (st.ok()) {
      connects_.fetch_add(1);
      delay = config_.reconnect_min_ms;
      st = session_loop(client);
    }
    up_->set(0);
    if (stop_) {
      client.close();
      break;
    }
    health_ = connects_.load() ? Health::kDegraded : Health::kConnecting;
    if (st.error().code == Errc::kParse) dead_letter(st.error().message, unix_now_ns());
    spdlog::warn("source {}: {} (retry in {} ms)", name_, st.error().message, delay);
    client.close();
    for (int64_t waited = 0; waited < delay && !stop_; waited += 20) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    delay = std::min(delay * 2, config_.reconnect_max_ms);
  }
  health_ = Health::kDown;
}

Status OpcuaSource::session_loop(opcua::UaClient& client) {
  const uint32_t keepalive = 10;
  const double interval = config_.publishing_interval_ms;
  EDGELOOP_ASSIGN_OR_RETURN(opcua::SubscriptionResult sub, client.create_subscription(interval, keepalive * 3, keepalive));
  std::vector<opcua::MonitoredItemRequest> reqs;
  uint32_t next_handle = 0;
  for (const OpcuaGroup& g : config_.groups)
    for (const auto& field_node : g.nodes) reqs.push_back({field_node.second, next_handle++, config_.sampling_interval_ms, config_.queue_size});
  EDGELOOP_ASSIGN_OR_RETURN(std::vector<opcua::MonitoredItemResult> results, client.create_monitored_items(sub.id, reqs));
  for (std::size_t k = 0; k < results.size(); ++k) {
    if (opcua::status_is_bad(results[k].status)) {
      // A wrong NodeId is a config error that a reconnect will not fix: say so and go on with the others.
      spdlog::error("source {}: cannot monitor {}: {}", name_, reqs[k].node.to_string(), opcua::status_name(results[k].status));
    }
  }
  health_ = Health::kConnected;
  up_->set(1);
  // A silent server is dead after the keep-alive period has passed twice over.
  const int wait_ms = static_cast<int>(std::max(2.0 * sub.publishing_interval_ms * sub.keepalive_count, 1000.0)) + client.config().timeout_ms;
  while (!stop_) {
    while (client.outstanding_publishes() < config_.publish_requests) EDGELOOP_TRY(client.send_publish());
    auto p = client.next_publish(wait_ms);
    if (!p.ok()) return p.take_error();
    const int64_t recv = unix_now_ns();
    if (opcua::status_is_bad(p->service_result)) {
      if (p->service_result == 0x80780000u) continue;  // BadTooManyPublishRequests: fewer outstanding is fine
      return make_error(Errc::kUnavailable, "Publish: " + opcua::status_name(p->service_result));
    }
    for (uint32_t s : p->status_changes) {
      if (opcua::status_is_bad(s)) return make_error(Errc::kUnavailable, "subscription status " + opcua::status_name(s));
    }
    handle(*p, recv);
    EDGELOOP_TRY(client.maintain());
  }
  return Status::Ok();
}

void OpcuaSource::flush_group(std::size_t g, int64_t recv_ns) {
  GroupState& gs = groups_[g];
  if (!gs.dirty) return;
  Record r = gs.pending;
  r.key = gs.key;
  r.source = index_;
  r.recv_ns = recv_ns;
  r.nfields = static_cast<uint8_t>(schema_.size());
  output_->push(std::move(r));
  records_->add();
  gs.dirty = false;
  gs.dirty_fields = 0;
}

void OpcuaSource::handle(const opcua::PublishResult& p, int64_t recv_ns) {
  for (const opcua::ItemChange& c : p.changes) {
    if (c.client_handle >= items_.size()) {
      dead_letter("data change for unknown client handle " + std::to_string(c.client_handle), recv_ns);
      continue;
    }
    changes_->add();
    const Item& it = items_[c.client_handle];
    GroupState& gs = groups_[it.group];
    const uint64_t bit = uint64_t{1} << it.field;
    if (gs.dirty_fields & bit) flush_group(it.group, recv_ns);  // keep every change: one record per change of a field
    if (!gs.dirty) {
      // Fields of the group not in this change keep their last value; others of the schema stay NaN.
      if (gs.pending.nfields == 0) gs.pending.f.fill(std::numeric_limits<double>::quiet_NaN());
    }
    double v = std::numeric_limits<double>::quiet_NaN();
    if (opcua::status_is_bad(c.value.status) || !c.value.has_value || !c.value.value.as_number(v)) {
      if (opcua::status_is_bad(c.value.status)) bad_values_->add();
      v = std::numeric_limits<double>::quiet_NaN();
    }
    gs.pending.f[static_cast<std::size_t>(it.field)] = v;
    gs.pending.nfields = static_cast<uint8_t>(schema_.size());
    const int64_t ts = c.value.source_ts ? c.value.source_ts : c.value.server_ts;
    gs.pending.ts_ns = ts ? opcua::ticks_to_unix_ns(ts) : recv_ns;
    gs.dirty = true;
    gs.dirty_fields |= bit;
  }
  for (std::size_t g = 0; g < groups_.size(); ++g) flush_group(g, recv_ns);
}

}  // namespace edgeloop
