#include "connectors/sparkplug/edge_node.h"

#include <mosquitto.h>
#include <spdlog/spdlog.h>

#include <cmath>
#include <limits>

#include "actions/action_metrics.h"
#include "connectors/sparkplug/topic.h"
#include "core/clock.h"

namespace edgeloop::sparkplug {

namespace {
constexpr uint64_t kRebirthAlias = 1;
constexpr uint64_t kFirstAlias = 2;
bool valid_id(std::string_view id) { return !id.empty() && id.find_first_of("/+#") == std::string_view::npos; }
}  // namespace

const OptionTable& edge_node_options() {
  static const OptionTable table = [] {
    OptionTable t;
    t.push_back({"group", OptionType::kString, "", "Sparkplug group id of the edge node.", true});
    t.push_back({"node", OptionType::kString, "", "Edge node id: topics `spBv1.0/<group>/NBIRTH/<node>` ...", true});
    t.push_back({"device", OptionType::kString, "{key}",
                 "Device id per event, a template (placeholders as in `action.mqtt_publish`'s payload; '/', '+', '#' "
                 "become '_'): each device gets a DBIRTH on its first event, then DDATA. Empty: the metrics belong to "
                 "the edge node itself (NBIRTH, NDATA)."});
    t.push_back({"fields", OptionType::kList, "",
                 "Event value fields published as Double metrics of the same name (e.g. `[score, rms]`); a field the "
                 "event lacks keeps its last value."});
    t.push_back({"alerts", OptionType::kList, "",
                 "Rule names that get a Boolean metric `alert/<rule>` (true while raised). Every device also has "
                 "`alert`: the state of the latest alert event of any rule."});
    t.push_back({"max_devices", OptionType::kInt, "10000",
                 "Devices the node keeps (and re-births); events of further devices are dropped and counted.", false, 1,
                 1'000'000});
    add_mqtt_connect_options(t);
    return t;
  }();
  return table;
}

Result<EdgeNodeConfig> edge_node_config(const Options& options) {
  EdgeNodeConfig c;
  EDGELOOP_ASSIGN_OR_RETURN(c.connect, mqtt_connect_config(options));
  c.group = options.str("group");
  if (!valid_id(c.group)) return options.error("group", "a non-empty id without '/', '+', '#' is needed");
  c.node = options.str("node");
  if (!valid_id(c.node)) return options.error("node", "a non-empty id without '/', '+', '#' is needed");
  c.device = options.str("device");
  c.fields = options.list("fields");
  c.alerts = options.list("alerts");
  c.max_devices = static_cast<std::size_t>(options.integer("max_devices"));
  return c;
}

EdgeNodeAction::EdgeNodeAction(EdgeNodeConfig config) : config_(std::move(config)) {
  for (const auto& f : config_.fields) defs_.push_back({f, pb::Double});
  defs_.push_back({"alert", pb::Boolean});
  for (const auto& r : config_.alerts) defs_.push_back({"alert/" + r, pb::Boolean});
  node_mode_ = config_.device.empty();
}

EdgeNodeAction::~EdgeNodeAction() { stop(); }

Result<std::unique_ptr<EdgeNodeAction>> EdgeNodeAction::create(EdgeNodeConfig config) {
  if (!valid_id(config.group) || !valid_id(config.node)) {
    return make_error(Errc::kInvalidArgument, "group and node must be non-empty ids without '/', '+', '#'");
  }
  std::unique_ptr<EdgeNodeAction> a(new EdgeNodeAction(std::move(config)));
  if (!a->node_mode_) {
    auto t = EventTemplate::compile(a->config_.device, EventTemplate::Escape::kNone);
    if (!t.ok()) return t.take_error();
    a->device_ = std::move(t).value();
  }
  return a;
}

Result<std::unique_ptr<EdgeNodeAction>> EdgeNodeAction::from_options(const Options& options) {
  EDGELOOP_ASSIGN_OR_RETURN(EdgeNodeConfig config, edge_node_config(options));
  auto a = create(std::move(config));
  if (!a.ok()) return options.error("device", a.error().message);
  return a;
}

std::vector<std::string> EdgeNodeAction::metric_names() const {
  std::vector<std::string> names;
  for (const auto& d : defs_) names.push_back(d.name);
  return names;
}

std::string EdgeNodeAction::death_payload() const {
  PbPayload p;
  p.set_timestamp(static_cast<uint64_t>(unix_now_ns() / kNsPerMs));
  PbMetric* m = p.add_metrics();
  m->set_name(kBdSeqMetric);
  m->set_datatype(pb::UInt64);
  m->set_long_value(bdseq_);
  return p.SerializeAsString();
}

Status EdgeNodeAction::start(ActionContext& ctx) {
  if (client_) return make_error(Errc::kInternal, "action " + ctx.name + ": started twice");
  if (!ctx.keys) return make_error(Errc::kInvalidArgument, "action " + ctx.name + ": no key table");
  name_ = ctx.name;
  keys_ = ctx.keys;
  dead_letters_ = ctx.dead_letters;
  const PublishActionMetrics am = make_publish_action_metrics(ctx, own_metrics_);
  events_ = am.events;
  published_ = am.published;
  errors_ = am.errors;
  dropped_ = am.dropped;
  up_ = am.up;
  rebirths_ = &am.metrics->counter("edgeloop_sparkplug_rebirths_total", "Births an edge node re-sent on a Rebirth NCMD.",
                                   {{"action", name_}});
  device_.set_unknown_counter(errors_);

  MqttClient::Callbacks cb;
  cb.on_connected = [this] {
    std::lock_guard lock(mu_);
    connected_ = true;
    publish_births();
    up_->set(1);
  };
  cb.on_disconnected = [this] {
    std::lock_guard lock(mu_);
    if (connected_) bdseq_ = (bdseq_ + 1) % 256;  // the next MQTT session's bdSeq
    connected_ = false;
    up_->set(0);
  };
  cb.will = [this] {
    std::lock_guard lock(mu_);
    return MqttWill{make_topic(config_.group, MessageType::kNDeath, config_.node), death_payload(), 0, false};
  };
  cb.on_message = [this](std::string_view topic, std::string_view payload) { handle_command(topic, payload); };
  up_->set(0);
  client_ = std::make_unique<MqttClient>("action " + name_, config_.connect, std::move(cb));
  client_->set_subscriptions({make_topic(config_.group, MessageType::kNCmd, config_.node)}, 0);
  Status st = client_->start();
  if (!st.ok()) client_.reset();
  return st;
}

void EdgeNodeAction::stop() {
  if (!client_) return;
  {
    std::lock_guard lock(mu_);
    // A clean stop sends no will: say goodbye ourselves, before the DISCONNECT.
    if (connected_) client_->publish(make_topic(config_.group, MessageType::kNDeath, config_.node), death_payload(), 0, false);
    connected_ = false;
  }
  client_->stop();
  client_.reset();
  if (up_) up_->set(0);
}

Health EdgeNodeAction::health() const { return client_ ? client_->health() : Health::kDown; }

uint64_t EdgeNodeAction::next_seq() {
  const uint64_t s = seq_;
  seq_ = (seq_ + 1) % 256;
  return s;
}

void EdgeNodeAction::send(const std::string& topic) {
  buf_.clear();
  payload_.SerializeToString(&buf_);
  const int rc = client_->publish(topic, buf_, 0, false);
  if (rc == MOSQ_ERR_SUCCESS) {
    published_->add();
    return;
  }
  errors_->add();
  spdlog::warn("action {}: publish to '{}' failed: {}", name_, topic, mosquitto_strerror(rc));
}

void EdgeNodeAction::publish_birth(const Device& d, int64_t ts_ms) {
  payload_.Clear();
  payload_.set_timestamp(static_cast<uint64_t>(ts_ms));
  payload_.set_seq(next_seq());
  for (std::size_t i = 0; i < defs_.size(); ++i) {
    PbMetric* m = payload_.add_metrics();
    m->set_name(defs_[i].name);
    m->set_alias(d.alias_base + i);
    m->set_timestamp(static_cast<uint64_t>(ts_ms));
    set_metric_number(*m, defs_[i].datatype, d.values[i]);
  }
  send(make_topic(config_.group, MessageType::kDBirth, config_.node, d.id));
}

void EdgeNodeAction::publish_births() {
  if (!client_) return;
  const int64_t ts_ms = unix_now_ns() / kNsPerMs;
  seq_ = 0;
  payload_.Clear();
  payload_.set_timestamp(static_cast<uint64_t>(ts_ms));
  payload_.set_seq(next_seq());
  PbMetric* bd = payload_.add_metrics();
  bd->set_name(kBdSeqMetric);
  bd->set_datatype(pb::UInt64);
  bd->set_long_value(bdseq_);
  PbMetric* rb = payload_.add_metrics();
  rb->set_name(kRebirthMetric);
  rb->set_alias(kRebirthAlias);
  rb->set_datatype(pb::Boolean);
  rb->set_boolean_value(false);
  for (const Device& d : devices_) {
    if (!d.id.empty()) continue;
    for (std::size_t i = 0; i < defs_.size(); ++i) {
      PbMetric* m = payload_.add_metrics();
      m->set_name(defs_[i].name);
      m->set_alias(d.alias_base + i);
      set_metric_number(*m, defs_[i].datatype, d.values[i]);
    }
  }
  if (node_mode_ && devices_.empty()) {  // the node's metrics are declared before any event
    for (std::size_t i = 0; i < defs_.size(); ++i) {
      PbMetric* m = payload_.add_metrics();
      m->set_name(defs_[i].name);
      m->set_alias(kFirstAlias + i);
      set_metric_number(*m, defs_[i].datatype, std::numeric_limits<double>::quiet_NaN());
    }
  }
  send(make_topic(config_.group, MessageType::kNBirth, config_.node));
  for (const Device& d : devices_)
    if (!d.id.empty()) publish_birth(d, ts_ms);
}

void EdgeNodeAction::publish_data(const Device& d, const std::vector<uint32_t>& changed, int64_t ts_ms) {
  payload_.Clear();
  payload_.set_timestamp(static_cast<uint64_t>(ts_ms));
  payload_.set_seq(next_seq());
  for (uint32_t i : changed) {
    PbMetric* m = payload_.add_metrics();
    m->set_alias(d.alias_base + i);
    m->set_timestamp(static_cast<uint64_t>(ts_ms));
    set_metric_number(*m, defs_[i].datatype, d.values[i]);
  }
  send(d.id.empty() ? make_topic(config_.group, MessageType::kNData, config_.node)
                    : make_topic(config_.group, MessageType::kDData, config_.node, d.id));
}

void EdgeNodeAction::handle_command(std::string_view topic, std::string_view payload) {
  PbPayload p;
  if (!p.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
    errors_->add();
    if (dead_letters_) {
      DeadLetter d;
      d.source = name_;
      d.reason = "NCMD: not a Sparkplug B protobuf payload";
      d.topic = std::string(topic);
      d.payload = std::string(payload);
      d.recv_ns = unix_now_ns();
      dead_letters_->write(std::move(d));
    }
    return;
  }
  for (const PbMetric& m : p.metrics()) {
    const bool rebirth = (m.has_name() && m.name() == kRebirthMetric) || (!m.has_name() && m.alias() == kRebirthAlias);
    double v = 0;
    if (rebirth && metric_number(m, pb::Boolean, v) == ValueStatus::kOk && v != 0) {
      std::lock_guard lock(mu_);
      if (!connected_) return;
      spdlog::info("action {}: rebirth requested", name_);
      rebirths_->add();
      publish_births();
      return;
    }
  }
}

const EdgeNodeAction::SchemaIndex& EdgeNodeAction::resolve(const Schema* schema) {
  for (const auto& s : schemas_)
    if (s.schema == schema) return s;
  SchemaIndex s;
  s.schema = schema;
  for (const auto& f : config_.fields) s.index.push_back(schema ? schema->index_of(f) : -1);
  schemas_.push_back(std::move(s));
  return schemas_.back();
}

void EdgeNodeAction::on_event(const Event& e) {
  events_->add();
  // What the event changes, computed before taking the lock.
  updates_.clear();
  const SchemaIndex& si = resolve(e.schema);
  for (std::size_t i = 0; i < si.index.size(); ++i) {
    const int idx = si.index[i];
    if (idx >= 0 && idx < e.nfields) updates_.emplace_back(static_cast<uint32_t>(i), e.f[static_cast<std::size_t>(idx)]);
  }
  if (e.kind == EventKind::kAlert && e.state != AlertState::kNone) {
    const double raised = e.state == AlertState::kRaised ? 1.0 : 0.0;
    const auto alert = static_cast<uint32_t>(config_.fields.size());
    updates_.emplace_back(alert, raised);
    if (e.name) {
      for (std::size_t r = 0; r < config_.alerts.size(); ++r)
        if (config_.alerts[r] == *e.name) updates_.emplace_back(static_cast<uint32_t>(alert + 1 + r), raised);
    }
  }
  std::string id;
  if (!node_mode_) {
    dev_buf_.clear();
    device_.render(e, *keys_, dev_buf_);
    id = sanitize_id(dev_buf_);
    if (id.empty()) {
      errors_->add();
      return;
    }
  }
  const int64_t ts_ms = (e.ts_ns > 0 ? e.ts_ns : unix_now_ns()) / kNsPerMs;
  std::lock_guard lock(mu_);
  auto it = by_id_.find(id);
  bool is_new = false;
  if (it == by_id_.end()) {
    if (devices_.size() >= config_.max_devices) {
      dropped_->add();
      return;
    }
    Device d;
    d.id = id;
    d.values.assign(defs_.size(), std::numeric_limits<double>::quiet_NaN());
    d.alias_base = node_mode_ ? kFirstAlias : kFirstAlias + (devices_.size() + 1) * defs_.size();
    it = by_id_.emplace(id, devices_.size()).first;
    devices_.push_back(std::move(d));
    is_new = true;
  }
  Device& d = devices_[it->second];
  changed_.clear();
  for (const auto& [i, v] : updates_) {
    d.values[i] = v;
    changed_.push_back(i);
  }
  // Disconnected: the values wait in the state; the births after the reconnect carry them.
  if (!connected_) return;
  if (is_new && !node_mode_) publish_birth(d, ts_ms);
  else if (!changed_.empty()) publish_data(d, changed_, ts_ms);
}

}  // namespace edgeloop::sparkplug
