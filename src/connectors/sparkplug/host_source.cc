#include "connectors/sparkplug/host_source.h"

#include <mosquitto.h>
#include <spdlog/spdlog.h>

#include <cmath>
#include <limits>

#include "core/clock.h"

namespace edgeloop::sparkplug {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr const char* kWideKey = "{group}/{node}/{device}";
constexpr const char* kLongKey = "{group}/{node}/{device}/{metric}";

bool valid_id(std::string_view id) { return id.find_first_of("/+#") == std::string_view::npos; }

// Node metrics that describe the session, not the process: not turned into records.
bool is_control_metric(std::string_view name) {
  return name == kBdSeqMetric || name.substr(0, 13) == "Node Control/";
}
}  // namespace

const OptionTable& host_source_options() {
  static const OptionTable table = [] {
    OptionTable t;
    t.push_back({"group", OptionType::kString, "",
                 "Sparkplug group id to follow (subscribes to `spBv1.0/<group>/#`); empty: every group (`spBv1.0/+/#`)."});
    t.push_back({"metrics", OptionType::kList, "",
                 "Metric names that become the record's fields, in order (at most 15: the last field is `stale`): one "
                 "record per BIRTH/DATA of a node or device, every field at its latest value (NaN until known). Empty: "
                 "one record per numeric metric with fields `value` and `stale`, keyed with `{metric}`."});
    t.push_back({"key", OptionType::kString, "",
                 "Stream key template: `{group}`, `{node}`, `{device}`, `{metric}`; text right before `{device}` is left "
                 "out for node-level metrics. Empty: `{group}/{node}/{device}` with `metrics`, else "
                 "`{group}/{node}/{device}/{metric}` (which must use `{metric}`)."});
    t.push_back({"rebirth_interval", OptionType::kDuration, "5s",
                 "Least time between two rebirth requests (NCMD `Node Control/Rebirth`) to one edge node, sent on a seq "
                 "gap, on DATA before a BIRTH and on an unknown alias.",
                 false, 0, 3600});
    t.push_back({"host_id", OptionType::kString, "",
                 "Set: act as the primary host application `host_id`: publish `spBv1.0/STATE/<host_id>` (retained, QoS "
                 "1, JSON `{\"online\":true,\"timestamp\":ms}`) on connect, with the offline STATE as MQTT will. Empty: no "
                 "STATE messages."});
    t.push_back({"qos", OptionType::kInt, "0", "QoS of the subscription: 0 or 1.", false, 0, 1});
    add_mqtt_connect_options(t);
    return t;
  }();
  return table;
}

Result<HostConfig> host_config(const Options& options) {
  HostConfig c;
  EDGELOOP_ASSIGN_OR_RETURN(c.connect, mqtt_connect_config(options));
  c.group = options.str("group");
  if (!valid_id(c.group)) return options.error("group", "a group id cannot hold '/', '+' or '#'");
  c.metrics = options.list("metrics");
  if (c.metrics.size() > kMaxFields - 1) {
    return options.error("metrics", "at most " + std::to_string(kMaxFields - 1) + " metrics (the last field is `stale`)");
  }
  c.key = options.str("key");
  c.rebirth_interval_ns = options.duration_ns("rebirth_interval");
  c.host_id = options.str("host_id");
  if (!valid_id(c.host_id)) return options.error("host_id", "a host id cannot hold '/', '+' or '#'");
  c.qos = static_cast<int>(options.integer("qos"));
  return c;
}

Result<KeyTemplate> KeyTemplate::compile(std::string_view text) {
  KeyTemplate k;
  std::size_t i = 0;
  std::string literal;
  while (i < text.size()) {
    if (text[i] != '{') {
      literal += text[i++];
      continue;
    }
    const std::size_t close = text.find('}', i);
    if (close == std::string_view::npos) return make_error(Errc::kInvalidArgument, "unclosed '{' in key '" + std::string(text) + "'");
    const std::string_view name = text.substr(i + 1, close - i - 1);
    Part p;
    if (name == "group") p = Part::kGroup;
    else if (name == "node") p = Part::kNode;
    else if (name == "device") p = Part::kDevice;
    else if (name == "metric") p = Part::kMetric;
    else return make_error(Errc::kInvalidArgument, "unknown placeholder {" + std::string(name) + "} in key (use {group} {node} {device} {metric})");
    if (!literal.empty()) k.segments_.push_back({Part::kLiteral, std::move(literal)});
    literal.clear();
    k.segments_.push_back({p, {}});
    if (p == Part::kMetric) k.uses_metric_ = true;
    i = close + 1;
  }
  if (!literal.empty()) k.segments_.push_back({Part::kLiteral, std::move(literal)});
  if (k.segments_.empty()) return make_error(Errc::kInvalidArgument, "the key template is empty");
  return k;
}

void KeyTemplate::render(std::string_view group, std::string_view node, std::string_view device, std::string_view metric,
                         std::string& out) const {
  out.clear();
  for (std::size_t i = 0; i < segments_.size(); ++i) {
    const Segment& s = segments_[i];
    switch (s.part) {
      case Part::kLiteral:
        if (device.empty() && i + 1 < segments_.size() && segments_[i + 1].part == Part::kDevice) break;
        out += s.text;
        break;
      case Part::kGroup: out += group; break;
      case Part::kNode: out += node; break;
      case Part::kDevice: out += device; break;
      case Part::kMetric: out += metric; break;
    }
  }
}

const char* HostSource::reason_name(int reason) {
  switch (reason) {
    case kMalformed: return "malformed";
    case kBadTopic: return "bad_topic";
    case kUnknownAlias: return "unknown_alias";
    case kNoBirth: return "no_birth";
    case kKeyLimit: return "key_limit";
    default: return "unknown";
  }
}

HostSource::HostSource(HostConfig config, KeyTemplate key) : config_(std::move(config)), key_(std::move(key)) {
  wide_ = !config_.metrics.empty();
  std::vector<std::string> names = wide_ ? config_.metrics : std::vector<std::string>{"value"};
  names.emplace_back("stale");
  schema_ = Schema(std::move(names));
}

HostSource::~HostSource() { stop(); }

Result<std::unique_ptr<HostSource>> HostSource::create(HostConfig config) {
  const bool wide = !config.metrics.empty();
  if (config.metrics.size() > kMaxFields - 1) return make_error(Errc::kInvalidArgument, "too many metrics");
  if (config.key.empty()) config.key = wide ? kWideKey : kLongKey;
  EDGELOOP_ASSIGN_OR_RETURN(KeyTemplate key, KeyTemplate::compile(config.key));
  if (!wide && !key.uses_metric()) {
    return make_error(Errc::kInvalidArgument, "without `metrics` each metric is a stream: the key must use {metric}");
  }
  if (wide && key.uses_metric()) return make_error(Errc::kInvalidArgument, "with `metrics` the key cannot use {metric}");
  return std::unique_ptr<HostSource>(new HostSource(std::move(config), std::move(key)));
}

Result<std::unique_ptr<HostSource>> HostSource::from_options(const Options& options) {
  EDGELOOP_ASSIGN_OR_RETURN(HostConfig config, host_config(options));
  auto s = create(std::move(config));
  if (!s.ok()) return options.error("key", s.error().message);
  return s;
}

Status HostSource::bind(SourceContext& ctx, Publisher publish) {
  if (!ctx.output || !ctx.keys) return make_error(Errc::kInvalidArgument, "source " + ctx.name + ": no output or key table");
  name_ = ctx.name;
  index_ = ctx.index;
  output_ = ctx.output;
  dead_letters_ = ctx.dead_letters;
  publish_ = std::move(publish);
  keys_.emplace(*ctx.keys, ctx.index);
  Metrics* m = ctx.metrics;
  if (!m) {
    own_metrics_ = std::make_unique<Metrics>();
    m = own_metrics_.get();
  }
  const Metrics::Labels src = {{"source", name_}};
  messages_ = &m->counter("edgeloop_source_messages_total", "Messages a source received.", src);
  records_total_ = &m->counter("edgeloop_source_records_total", "Records a source decoded and passed on.", src);
  metrics_total_ = &m->counter("edgeloop_sparkplug_metrics_total", "Sparkplug metric values decoded.", src);
  skipped_ = &m->counter("edgeloop_sparkplug_skipped_total",
                         "Sparkplug metric values skipped: not numeric (String, Bytes, DataSet, Template ...).", src);
  gaps_ = &m->counter("edgeloop_sparkplug_seq_gaps_total", "Sparkplug messages whose seq was not the expected one.", src);
  rebirths_ = &m->counter("edgeloop_sparkplug_rebirth_requests_total", "Rebirth NCMDs sent to edge nodes.", src);
  stale_ = &m->counter("edgeloop_sparkplug_stale_total", "Nodes and devices marked stale by NDEATH or DDEATH.", src);
  deaths_ignored_ = &m->counter("edgeloop_sparkplug_deaths_ignored_total",
                                "NDEATHs ignored: bdSeq of another session, or the node was not alive.", src);
  for (int r = 0; r < kReasons; ++r) {
    errors_[r] = &m->counter("edgeloop_source_errors_total", "Messages a source rejected (dead-lettered), by reason.",
                             {{"source", name_}, {"reason", reason_name(r)}});
  }
  up_ = &m->gauge("edgeloop_connector_up", "1 while the connector is connected to its peer, else 0.", {{"connector", name_}});
  return Status::Ok();
}

std::string HostSource::state_payload(bool online) const {
  return std::string("{\"online\":") + (online ? "true" : "false") + ",\"timestamp\":" + std::to_string(state_ts_ms_) + "}";
}

Status HostSource::start(SourceContext& ctx) {
  if (client_) return make_error(Errc::kInternal, "source " + ctx.name + ": started twice");
  EDGELOOP_TRY(bind(ctx, [this](const std::string& topic, const std::string& payload) {
    client_->publish(topic, payload, 0, false);
  }));
  state_ts_ms_ = unix_now_ns() / kNsPerMs;
  const std::string state_topic = "spBv1.0/STATE/" + config_.host_id;
  MqttClient::Callbacks cb;
  cb.on_message = [this](std::string_view topic, std::string_view payload) { handle_message(topic, payload, unix_now_ns()); };
  cb.on_connected = [this, state_topic] {
    if (!config_.host_id.empty()) client_->publish(state_topic, state_payload(true), 1, true);
    up_->set(1);
  };
  cb.on_disconnected = [this] { up_->set(0); };
  if (!config_.host_id.empty()) {
    cb.will = [this, state_topic] { return MqttWill{state_topic, state_payload(false), 1, true}; };
  }
  up_->set(0);
  client_ = std::make_unique<MqttClient>("source " + name_, config_.connect, std::move(cb));
  client_->set_subscriptions({"spBv1.0/" + (config_.group.empty() ? std::string("+") : config_.group) + "/#"}, config_.qos);
  Status st = client_->start();
  if (!st.ok()) client_.reset();
  return st;
}

void HostSource::stop() {
  if (!client_) return;
  if (!config_.host_id.empty() && client_->health() == Health::kConnected) {
    client_->publish("spBv1.0/STATE/" + config_.host_id, state_payload(false), 1, true);
  }
  client_->stop();
  if (up_) up_->set(0);
}

Health HostSource::health() const { return client_ ? client_->health() : Health::kDown; }

void HostSource::reject(Reason reason, std::string message, std::string_view topic, std::string_view payload, int64_t recv_ns) {
  errors_[reason]->add();
  if (!dead_letters_) return;
  DeadLetter d;
  d.source = name_;
  d.reason = std::move(message);
  d.topic = std::string(topic);
  d.payload = std::string(payload);
  d.recv_ns = recv_ns;
  dead_letters_->write(std::move(d));
}

HostSource::Node& HostSource::node_for(const Topic& t) {
  node_buf_.assign(t.group).append("/").append(t.node);
  auto it = nodes_.find(node_buf_);
  if (it != nodes_.end()) return it->second;
  Node& n = nodes_[node_buf_];
  n.group = std::string(t.group);
  n.name = std::string(t.node);
  return n;
}

void HostSource::request_rebirth(Node& node, int64_t recv_ns) {
  if (recv_ns - node.last_rebirth_ns < config_.rebirth_interval_ns) return;
  node.last_rebirth_ns = recv_ns;
  ncmd_.Clear();
  ncmd_.set_timestamp(static_cast<uint64_t>(unix_now_ns() / kNsPerMs));
  PbMetric* m = ncmd_.add_metrics();
  m->set_name(kRebirthMetric);
  m->set_datatype(pb::Boolean);
  m->set_boolean_value(true);
  ncmd_buf_.clear();
  ncmd_.SerializeToString(&ncmd_buf_);
  rebirths_->add();
  spdlog::info("source {}: requesting a rebirth of {}/{}", name_, node.group, node.name);
  if (publish_) publish_(make_topic(node.group, MessageType::kNCmd, node.name), ncmd_buf_);
}

bool HostSource::check_seq(Node& node, std::string_view topic, int64_t recv_ns) {
  if (!payload_.has_seq()) return true;
  const uint64_t seq = payload_.seq();
  const bool ok = node.expected_seq < 0 || seq == static_cast<uint64_t>(node.expected_seq);
  if (!ok) {
    gaps_->add();
    spdlog::warn("source {}: seq {} on {} where {} was expected", name_, seq, topic, node.expected_seq);
    request_rebirth(node, recv_ns);
  }
  node.expected_seq = static_cast<int>((seq + 1) % 256);
  return ok;
}

int64_t HostSource::metric_ts(const PbMetric& m, int64_t recv_ns) const {
  if (m.has_timestamp()) return static_cast<int64_t>(m.timestamp()) * kNsPerMs;
  if (payload_.has_timestamp()) return static_cast<int64_t>(payload_.timestamp()) * kNsPerMs;
  return recv_ns;
}

void HostSource::push_wide(Device& dev, int64_t ts_ns, int64_t recv_ns) {
  Record r;
  r.key = dev.key;
  r.source = index_;
  const std::size_t n = config_.metrics.size();
  r.nfields = static_cast<uint8_t>(n + 1);
  for (std::size_t i = 0; i < n; ++i) r.f[i] = dev.values[i];
  r.f[n] = dev.stale ? 1.0 : 0.0;
  r.ts_ns = ts_ns;
  r.recv_ns = recv_ns;
  output_->push(std::move(r));
  records_total_->add();
}

void HostSource::push_long(const MetricInfo& mi, int64_t ts_ns, int64_t recv_ns, bool stale) {
  Record r;
  r.key = mi.key;
  r.source = index_;
  r.nfields = 2;
  r.f[0] = mi.last;
  r.f[1] = stale ? 1.0 : 0.0;
  r.ts_ns = ts_ns;
  r.recv_ns = recv_ns;
  output_->push(std::move(r));
  records_total_->add();
}

bool HostSource::birth(Node& node, Device& dev, const Topic& t, std::string_view topic, std::string_view payload,
                       int64_t recv_ns) {
  dev.metrics.clear();
  dev.by_alias.clear();
  dev.by_name.clear();
  dev.values.fill(kNaN);
  dev.alive = false;
  dev.stale = false;
  if (wide_) {
    key_.render(t.group, t.node, t.device, {}, key_buf_);
    const Result<KeyId> id = keys_->intern(key_buf_, topic);
    if (!id.ok()) {
      reject(kKeyLimit, id.error().message, topic, payload, recv_ns);
      return false;
    }
    dev.key = *id;
  }
  for (const PbMetric& m : payload_.metrics()) {
    if (!m.has_name()) continue;  // a birth names every metric; nothing to learn from one without
    MetricInfo mi;
    mi.name = m.name();
    mi.datatype = m.datatype();
    mi.numeric = is_numeric_type(mi.datatype);
    if (wide_) {
      mi.field = mi.numeric ? schema_.index_of(mi.name) : -1;
      if (mi.field == static_cast<int>(config_.metrics.size())) mi.field = -1;  // "stale" is ours
    } else if (mi.numeric && !is_control_metric(mi.name)) {
      key_.render(t.group, t.node, t.device, mi.name, key_buf_);
      const Result<KeyId> id = keys_->intern(key_buf_, topic);
      if (!id.ok()) {
        reject(kKeyLimit, id.error().message, topic, payload, recv_ns);
        return false;
      }
      mi.key = *id;
    }
    const auto idx = static_cast<uint32_t>(dev.metrics.size());
    if (m.has_alias()) dev.by_alias[m.alias()] = idx;
    dev.by_name[mi.name] = idx;
    dev.metrics.push_back(std::move(mi));
  }
  dev.alive = true;
  data(node, dev, topic, payload, recv_ns, true);
  return true;
}

void HostSource::data(Node& node, Device& dev, std::string_view topic, std::string_view payload, int64_t recv_ns,
                      bool is_birth) {
  const int64_t payload_ts = payload_.has_timestamp() ? static_cast<int64_t>(payload_.timestamp()) * kNsPerMs : recv_ns;
  bool any = false;
  uint64_t decoded = 0;
  std::string unknown;
  for (const PbMetric& m : payload_.metrics()) {
    MetricInfo* mi = nullptr;
    if (m.has_alias()) {
      if (auto it = dev.by_alias.find(m.alias()); it != dev.by_alias.end()) mi = &dev.metrics[it->second];
    }
    if (!mi && m.has_name()) {
      if (auto it = dev.by_name.find(m.name()); it != dev.by_name.end()) mi = &dev.metrics[it->second];
    }
    if (!mi) {
      if (unknown.size() < 200) {
        unknown += unknown.empty() ? "" : ", ";
        unknown += m.has_name() ? "'" + m.name() + "'" : "alias " + std::to_string(m.alias());
      }
      continue;
    }
    const uint32_t dt = mi->datatype != pb::Unknown ? mi->datatype : m.datatype();
    double v = 0;
    const ValueStatus st = metric_number(m, dt, v);
    if (st == ValueStatus::kNotNumeric) {
      skipped_->add();
      continue;
    }
    if (st == ValueStatus::kMissing) continue;
    ++decoded;
    if (wide_) {
      if (mi->field >= 0) {
        dev.values[static_cast<std::size_t>(mi->field)] = v;
        any = true;
      }
    } else if (mi->key != kNoKey) {
      mi->last = v;
      push_long(*mi, metric_ts(m, recv_ns), recv_ns, false);
    }
  }
  metrics_total_->add(decoded);
  if (wide_ && (any || is_birth)) {
    dev.stale = false;
    push_wide(dev, payload_ts, recv_ns);
  }
  if (!unknown.empty()) {
    reject(kUnknownAlias, "metric(s) not in the birth: " + unknown, topic, payload, recv_ns);
    // Our copy of the birth is out of date: ask for a new one.
    request_rebirth(node, recv_ns);
  }
}

void HostSource::mark_stale(Device& dev, int64_t ts_ns, int64_t recv_ns) {
  if (!dev.alive) return;
  dev.alive = false;
  dev.stale = true;
  stale_->add();
  if (wide_) {
    if (dev.key != kNoKey) push_wide(dev, ts_ns, recv_ns);
    return;
  }
  for (const MetricInfo& mi : dev.metrics)
    if (mi.key != kNoKey) push_long(mi, ts_ns, recv_ns, true);
}

void HostSource::handle_message(std::string_view topic, std::string_view payload, int64_t recv_ns) {
  messages_->add();
  Topic t;
  if (!parse_topic(topic, t)) {
    reject(kBadTopic, "not a Sparkplug B topic (spBv1.0/<group>/<type>/<node>[/<device>])", topic, payload, recv_ns);
    return;
  }
  // Commands go to edge nodes; other hosts' STATE is theirs.
  if (t.type == MessageType::kState || t.type == MessageType::kNCmd || t.type == MessageType::kDCmd) return;
  payload_.Clear();
  if (!payload_.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
    reject(kMalformed, std::string(message_type_name(t.type)) + ": not a Sparkplug B protobuf payload", topic, payload, recv_ns);
    return;
  }
  Node& node = node_for(t);
  const int64_t ts = payload_.has_timestamp() ? static_cast<int64_t>(payload_.timestamp()) * kNsPerMs : recv_ns;
  switch (t.type) {
    case MessageType::kNBirth: {
      node.has_bdseq = false;
      for (const PbMetric& m : payload_.metrics()) {
        if (m.name() == kBdSeqMetric) {
          double v = 0;
          if (metric_number(m, m.datatype() ? m.datatype() : uint32_t{pb::UInt64}, v) == ValueStatus::kOk) {
            node.has_bdseq = true;
            node.bdseq = static_cast<uint64_t>(v);
          }
        }
      }
      node.expected_seq = payload_.has_seq() ? static_cast<int>((payload_.seq() + 1) % 256) : -1;
      node.alive = true;
      // A new session: its devices are born again by the DBIRTHs that follow.
      for (auto& [id, dev] : node.devices) dev.alive = false;
      birth(node, node.self, t, topic, payload, recv_ns);
      return;
    }
    case MessageType::kNDeath: {
      bool has = false;
      uint64_t bdseq = 0;
      for (const PbMetric& m : payload_.metrics()) {
        double v = 0;
        if (m.name() == kBdSeqMetric && metric_number(m, m.datatype() ? m.datatype() : uint32_t{pb::UInt64}, v) == ValueStatus::kOk) {
          has = true;
          bdseq = static_cast<uint64_t>(v);
        }
      }
      if (!node.alive || (has && node.has_bdseq && bdseq != node.bdseq)) {
        deaths_ignored_->add();
        return;
      }
      node.alive = false;
      node.expected_seq = -1;
      mark_stale(node.self, ts, recv_ns);
      for (auto& [id, dev] : node.devices) mark_stale(dev, ts, recv_ns);
      return;
    }
    default: break;
  }
  if (!node.alive) {
    reject(kNoBirth, std::string(message_type_name(t.type)) + " before the node's NBIRTH: rebirth requested", topic, payload,
           recv_ns);
    request_rebirth(node, recv_ns);
    return;
  }
  check_seq(node, topic, recv_ns);
  switch (t.type) {
    case MessageType::kDBirth: {
      auto it = node.devices.find(t.device);
      if (it == node.devices.end()) it = node.devices.emplace(std::string(t.device), Device{}).first;
      birth(node, it->second, t, topic, payload, recv_ns);
      return;
    }
    case MessageType::kDDeath: {
      if (auto it = node.devices.find(t.device); it != node.devices.end()) mark_stale(it->second, ts, recv_ns);
      return;
    }
    case MessageType::kNData:
    case MessageType::kDData: {
      Device* dev = &node.self;
      if (t.type == MessageType::kDData) {
        auto it = node.devices.find(t.device);
        dev = it == node.devices.end() ? nullptr : &it->second;
      }
      if (!dev || !dev->alive) {
        reject(kNoBirth, "DDATA before the device's DBIRTH: rebirth requested", topic, payload, recv_ns);
        request_rebirth(node, recv_ns);
        return;
      }
      data(node, *dev, topic, payload, recv_ns, false);
      return;
    }
    default: return;
  }
}

}  // namespace edgeloop::sparkplug
