#include "outbox/upstream_action.h"

#include <unistd.h>

#include <climits>
#include <limits>

namespace edgeloop {

namespace {

// Options that belong to one sink only: setting them for the other is a config error.
const std::vector<std::string>& nats_only() {
  static const std::vector<std::string> v = {"url",    "connect_timeout", "reconnect_wait",   "ping_interval", "prefix",
                                             "stream", "create_stream",   "duplicate_window", "replicas",      "ack_timeout"};
  return v;
}

const std::vector<std::string>& mqtt_only() {
  static const std::vector<std::string> v = {"topic",     "host",     "port",         "client_id", "username",
                                             "password",  "ca_file",  "cert_file",    "key_file",  "tls_insecure",
                                             "keepalive", "reconnect_min", "reconnect_max", "clean_session"};
  return v;
}

}  // namespace

std::string default_gateway_id() {
  char host[HOST_NAME_MAX + 1] = {};
  if (::gethostname(host, sizeof host) != 0 || host[0] == '\0') return "gateway";
  return host;
}

const OptionTable& upstream_options() {
  static const OptionTable table = [] {
    OptionTable t;
    t.push_back({"sink", OptionType::kString, "nats",
                 "Where events go: `nats` (NATS JetStream, de-duplicated by message id) or `mqtt` (a broker, QoS 1).", false,
                 -std::numeric_limits<double>::infinity(), std::numeric_limits<double>::infinity(), {"nats", "mqtt"}});
    t.push_back({"path", OptionType::kString, "",
                 "The outbox's SQLite database (WAL; created with its folder when missing). Events not yet confirmed "
                 "upstream stay there across restarts and are sent after the next start.",
                 true});
    t.push_back({"gateway", OptionType::kString, "",
                 "This gateway's id, in message ids (`<gateway>:<seq>`), payloads and subjects/topics. Default: the host "
                 "name. Keep it stable: a pending event keeps the id it was stored with."});
    t.push_back({"max_events", OptionType::kInt, "1000000", "Bound on the events kept in the outbox (see `when_full`).", false,
                 1, 1e12});
    t.push_back({"max_bytes", OptionType::kSize, "512MiB",
                 "Bound on the bytes of the events kept (payload, id, key and names; the database file is larger by "
                 "SQLite's overhead).",
                 false, 1024, 1e15});
    t.push_back({"when_full", OptionType::kString, "drop_oldest",
                 "When a new event does not fit: `drop_oldest` deletes the oldest events to make room, `reject_new` drops "
                 "the new one. Either is counted in edgeloop_outbox_dropped_total{reason} and logged once per episode.",
                 false, -std::numeric_limits<double>::infinity(), std::numeric_limits<double>::infinity(),
                 {"drop_oldest", "reject_new"}});
    t.push_back({"synchronous", OptionType::kString, "full",
                 "SQLite durability of a commit (an event counts as accepted once its batch is committed): `full` fsyncs the "
                 "WAL at every commit (survives a power cut), `normal` only at checkpoints (survives a crash of the "
                 "process, not a power cut).",
                 false, -std::numeric_limits<double>::infinity(), std::numeric_limits<double>::infinity(), {"full", "normal"}});
    t.push_back({"queue", OptionType::kInt, "65536",
                 "Events waiting between the dispatch thread and the outbox writer. When full, new events are dropped and "
                 "counted (reason queue_full).",
                 false, 16, 16'777'216});
    t.push_back({"batch", OptionType::kInt, "8192",
                 "Most events committed in one transaction (group commit: all events waiting, up to this, share one "
                 "fsync).",
                 false, 1, 1'000'000});
    t.push_back({"max_in_flight", OptionType::kInt, "1024", "Events sent upstream and not yet confirmed, at most.", false, 1,
                 65535});
    t.push_back({"retry_min", OptionType::kDuration, "100ms",
                 "Back-off after a failed delivery: retry_min x 2^(n-1) after the n-th failure in a row, up to retry_max, "
                 "times a random factor in [0.5, 1).",
                 false, 0.001, 3600});
    t.push_back({"retry_max", OptionType::kDuration, "30s", "Longest back-off between delivery attempts.", false, 0.001, 86400});
    // sink: nats
    OptionTable nats;
    add_nats_connect_options(nats);
    for (auto& o : nats) {
      o.description = "sink: nats. " + o.description;
      t.push_back(std::move(o));
    }
    t.push_back({"prefix", OptionType::kString, "edgeloop",
                 "sink: nats. Subjects are `<prefix>.<gateway>.<kind>` (kind: alert, insight, command; '.', '*', '>' and "
                 "blanks in the gateway id become '_')."});
    t.push_back({"stream", OptionType::kString, "EDGELOOP", "sink: nats. The JetStream stream (subjects `<prefix>.>`)."});
    t.push_back({"create_stream", OptionType::kBool, "true",
                 "sink: nats. Create the stream (file storage, `replicas`, `duplicate_window`) when it is missing; an "
                 "existing stream is left as it is."});
    t.push_back({"duplicate_window", OptionType::kDuration, "2m",
                 "sink: nats. De-duplication window of a stream the sink creates: a re-sent event (same Nats-Msg-Id) "
                 "within it is stored once.",
                 false, 1, 86400 * 7});
    t.push_back({"replicas", OptionType::kInt, "1", "sink: nats. Replicas of a stream the sink creates (3 on a 3-node cluster).",
                 false, 1, 5});
    t.push_back({"ack_timeout", OptionType::kDuration, "5s",
                 "sink: nats. A publish without a PubAck after this is retried (JetStream drops the duplicate if the "
                 "first one was stored).",
                 false, 0.01, 600});
    // sink: mqtt
    t.push_back({"topic", OptionType::kString, kDefaultUpstreamTopic,
                 "sink: mqtt. Topic template: {gateway}, {kind}, {key}, {pipeline}, {stage}. Messages are QoS 1, the "
                 "payload the event's JSON with its `id`."});
    OptionTable mqtt;
    add_mqtt_connect_options(mqtt);
    for (auto& o : mqtt) {
      o.description = "sink: mqtt. " + o.description;
      t.push_back(std::move(o));
    }
    return t;
  }();
  return table;
}

Result<UpstreamConfig> upstream_config(const Options& options) {
  UpstreamConfig c;
  c.nats = options.str("sink") == "nats";
  for (const auto& name : c.nats ? mqtt_only() : nats_only()) {
    if (options.has(name)) {
      return options.error(name, "'" + name + "' is an option of sink: " + (c.nats ? "mqtt" : "nats") +
                                     " (this one has sink: " + (c.nats ? "nats" : "mqtt") + ")");
    }
  }
  OutboxConfig& o = c.outbox;
  o.path = options.str("path");
  if (o.path.empty()) return options.error("path", "the outbox needs a database path");
  o.gateway = options.has("gateway") ? options.str("gateway") : default_gateway_id();
  if (o.gateway.empty()) return options.error("gateway", "the gateway id cannot be empty");
  if (o.gateway.find_first_of(" \t\r\n\"") != std::string::npos) {
    return options.error("gateway", "the gateway id cannot hold blanks or quotes");
  }
  o.max_events = static_cast<uint64_t>(options.integer("max_events"));
  o.max_bytes = static_cast<uint64_t>(options.size_bytes("max_bytes"));
  o.when_full = options.str("when_full") == "reject_new" ? WhenFull::kRejectNew : WhenFull::kDropOldest;
  o.sync = options.str("synchronous") == "normal" ? OutboxSync::kNormal : OutboxSync::kFull;
  o.queue_capacity = static_cast<std::size_t>(options.integer("queue"));
  o.batch_max = static_cast<std::size_t>(options.integer("batch"));
  o.max_in_flight = static_cast<std::size_t>(options.integer("max_in_flight"));
  o.retry_min_ns = options.duration_ns("retry_min");
  o.retry_max_ns = options.duration_ns("retry_max");
  if (o.retry_max_ns < o.retry_min_ns) return options.error("retry_max", "must be at least retry_min");
  if (c.nats) {
    NatsSinkConfig& n = c.nats_sink;
    EDGELOOP_ASSIGN_OR_RETURN(n.connect, nats_connect_config(options));
    n.prefix = options.str("prefix");
    n.stream.name = options.str("stream");
    n.stream.create = options.flag("create_stream");
    n.stream.duplicate_window_ns = options.duration_ns("duplicate_window");
    n.stream.replicas = static_cast<int>(options.integer("replicas"));
    n.stream.subjects.clear();  // "<prefix>.>"
    n.gateway = o.gateway;
    n.ack_timeout_ms = std::max<int64_t>(1, options.duration_ns("ack_timeout") / 1'000'000);
    n.max_pending = static_cast<int>(o.max_in_flight);
  } else {
    MqttSinkConfig& m = c.mqtt_sink;
    EDGELOOP_ASSIGN_OR_RETURN(m.connect, mqtt_connect_config(options));
    m.topic = options.str("topic");
    m.gateway = o.gateway;
  }
  return c;
}

Result<std::unique_ptr<UpstreamAction>> UpstreamAction::create(UpstreamConfig config) {
  // Validate the sink's settings now (the config check), connect only at start.
  if (config.nats) {
    auto s = NatsSink::create(config.nats_sink);
    if (!s.ok()) return s.take_error();
  } else {
    auto s = MqttSink::create(config.mqtt_sink);
    if (!s.ok()) return s.take_error();
  }
  return std::unique_ptr<UpstreamAction>(new UpstreamAction(std::move(config)));
}

Result<std::unique_ptr<UpstreamAction>> UpstreamAction::from_options(const Options& options) {
  EDGELOOP_ASSIGN_OR_RETURN(UpstreamConfig config, upstream_config(options));
  const bool nats = config.nats;
  auto a = create(std::move(config));
  if (!a.ok()) return options.error(nats ? (a.error().message.find("stream") != std::string::npos ? "stream" : "prefix") : "topic",
                                    a.error().message);
  return a;
}

UpstreamAction::~UpstreamAction() { stop(); }

Status UpstreamAction::start(ActionContext& ctx) {
  if (outbox_) return make_error(Errc::kInternal, "action " + ctx.name + ": started twice");
  config_.outbox.name = ctx.name;
  std::unique_ptr<UpstreamSink> sink;
  if (config_.nats) {
    config_.nats_sink.name = ctx.name;
    EDGELOOP_ASSIGN_OR_RETURN(sink, NatsSink::create(config_.nats_sink));
  } else {
    config_.mqtt_sink.name = ctx.name;
    EDGELOOP_ASSIGN_OR_RETURN(sink, MqttSink::create(config_.mqtt_sink));
  }
  EDGELOOP_ASSIGN_OR_RETURN(outbox_, Outbox::open(config_.outbox, std::move(sink)));
  Status st = outbox_->start(ctx.keys, ctx.metrics, ctx.dead_letters);
  if (!st.ok()) {
    outbox_.reset();
    return st;
  }
  started_.store(outbox_.get(), std::memory_order_release);
  return st;
}

void UpstreamAction::on_event(const Event& e) {
  if (outbox_) outbox_->push(e);
}

void UpstreamAction::stop() {
  if (outbox_) outbox_->stop();
}

Health UpstreamAction::health() const {
  const Outbox* o = started_.load(std::memory_order_acquire);
  return o ? o->health() : Health::kDown;
}

}  // namespace edgeloop
