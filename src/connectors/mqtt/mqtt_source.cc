#include "connectors/mqtt/mqtt_source.h"

#include <mosquitto.h>
#include <spdlog/spdlog.h>

#include <limits>

#include "core/clock.h"

namespace edgeloop {

const OptionTable& mqtt_source_options() {
  static const OptionTable table = [] {
    OptionTable t;
    t.push_back({"subscribe", OptionType::kList, "",
                 "Topic filters to subscribe to (MQTT wildcards `+` and `#` allowed), e.g. `[plant/+/+/temp]`.", true});
    t.push_back({"qos", OptionType::kInt, "0", "QoS of the subscriptions: 0 or 1.", false, 0, 1});
    t.push_back({"key", OptionType::kString, "{topic}",
                 "The stream key of a message, from its topic levels (0-based): `{2}` of `bench/t1/d0001/temp` is "
                 "`d0001`, `{1}/{2}` is `t1/d0001`; `{topic}` is the whole topic. A topic without the level is "
                 "dead-lettered (reason `bad_topic`)."});
    t.push_back({"client", OptionType::kString, "libmosquitto",
                 "MQTT client: `libmosquitto`, or `native`: a lean built-in MQTT 3.1.1 subscriber (plain TCP, no TLS) "
                 "that reads whatever the socket holds and parses every packet in it, where libmosquitto makes four "
                 "syscalls per message; about half the CPU per message at high rates.",
                 false, -std::numeric_limits<double>::infinity(), std::numeric_limits<double>::infinity(),
                 {"libmosquitto", "native"}});
    t.push_back({"codec", OptionType::kAny, "json",
                 "How payloads are decoded: a codec name (`json`) or a map with `type` (default `json`) and the "
                 "codec's options."});
    add_mqtt_connect_options(t);
    return t;
  }();
  return table;
}

Result<MqttSourceConfig> mqtt_source_config(const Options& options) {
  MqttSourceConfig c;
  EDGELOOP_ASSIGN_OR_RETURN(c.connect, mqtt_connect_config(options));
  c.subscribe = options.list("subscribe");
  if (c.subscribe.empty()) return options.error("subscribe", "at least one topic filter is needed");
  for (const auto& f : c.subscribe) {
    if (mosquitto_sub_topic_check(f.c_str()) != MOSQ_ERR_SUCCESS) {
      return options.error("subscribe", "'" + f + "' is not a valid topic filter ('#' only last, '+' and '#' only as whole levels)");
    }
  }
  c.qos = static_cast<int>(options.integer("qos"));
  c.key = options.str("key");
  c.native = options.str("client") == "native";
  if (c.native && !c.connect.ca_file.empty()) {
    return options.error("client", "the native client has no TLS: use client: libmosquitto with ca_file");
  }
  return c;
}

const char* MqttSource::reason_name(int reason) {
  switch (reason) {
    case kMalformed: return "malformed";
    case kMissingField: return "missing_field";
    case kWrongType: return "wrong_type";
    case kTooLarge: return "too_large";
    case kBadTopic: return "bad_topic";
    case kKeyLimit: return "key_limit";
    default: return "unknown";
  }
}

MqttSource::Reason MqttSource::reason_for(Errc code) {
  switch (code) {
    case Errc::kNotFound: return kMissingField;
    case Errc::kTypeMismatch: return kWrongType;
    case Errc::kTooLarge: return kTooLarge;
    default: return kMalformed;
  }
}

MqttSource::MqttSource(MqttSourceConfig config, TopicKey key, std::unique_ptr<Codec> codec)
    : config_(std::move(config)), key_(std::move(key)), codec_(std::move(codec)) {}

MqttSource::~MqttSource() { stop(); }

Result<std::unique_ptr<MqttSource>> MqttSource::create(MqttSourceConfig config, std::unique_ptr<Codec> codec) {
  if (!codec) return make_error(Errc::kInvalidArgument, "source.mqtt needs a codec");
  if (config.subscribe.empty()) return make_error(Errc::kInvalidArgument, "source.mqtt needs at least one topic filter");
  EDGELOOP_ASSIGN_OR_RETURN(TopicKey key, TopicKey::compile(config.key));
  return std::unique_ptr<MqttSource>(new MqttSource(std::move(config), std::move(key), std::move(codec)));
}

Result<std::unique_ptr<MqttSource>> MqttSource::from_options(const Options& options, const Registry& registry) {
  EDGELOOP_ASSIGN_OR_RETURN(MqttSourceConfig config, mqtt_source_config(options));
  if (auto k = TopicKey::compile(config.key); !k.ok()) return options.error("key", k.error().message);
  const ConfigNode* node = options.node("codec");
  ConfigNode typed;
  if (node && node->is_map() && !node->find("type")) {
    typed = *node;  // `codec: {values: [t]}` means the default codec, json
    typed.set("type", ConfigNode::scalar("json", node->mark()));
    node = &typed;
  }
  if (!node) return options.error("codec", "missing codec");
  const std::string codec_path = options.path().empty() ? "codec" : options.path() + ".codec";
  EDGELOOP_ASSIGN_OR_RETURN(std::unique_ptr<Codec> codec, registry.make_codec(*node, codec_path));
  return create(std::move(config), std::move(codec));
}

Status MqttSource::bind(SourceContext& ctx) {
  if (!ctx.output || !ctx.keys) return make_error(Errc::kInvalidArgument, "source " + ctx.name + ": no output or key table");
  name_ = ctx.name;
  index_ = ctx.index;
  output_ = ctx.output;
  dead_letters_ = ctx.dead_letters;
  keys_.emplace(*ctx.keys, ctx.index);
  Metrics* m = ctx.metrics;
  if (!m) {
    own_metrics_ = std::make_unique<Metrics>();
    m = own_metrics_.get();
  }
  const Metrics::Labels src = {{"source", name_}};
  messages_ = &m->counter("edgeloop_source_messages_total", "Messages a source received.", src);
  records_total_ = &m->counter("edgeloop_source_records_total", "Records a source decoded and passed on.", src);
  for (int r = 0; r < kReasons; ++r) {
    errors_[r] = &m->counter("edgeloop_source_errors_total", "Messages a source rejected (dead-lettered), by reason.",
                             {{"source", name_}, {"reason", reason_name(r)}});
  }
  up_ = &m->gauge("edgeloop_connector_up", "1 while the connector is connected to its peer, else 0.", {{"connector", name_}});
  records_.reserve(16);
  return Status::Ok();
}

Status MqttSource::start(SourceContext& ctx) {
  if (client_ || native_) return make_error(Errc::kInternal, "source " + ctx.name + ": started twice");
  EDGELOOP_TRY(bind(ctx));
  MqttClient::Callbacks cb;
  cb.on_message = [this](std::string_view topic, std::string_view payload) {
    const int64_t now = unix_now_ns();  // first: the latency clock starts here
    handle_message(topic, payload, now);
  };
  cb.on_connected = [this] { up_->set(1); };
  cb.on_disconnected = [this] { up_->set(0); };
  up_->set(0);
  if (config_.native) {
    native_ = std::make_unique<NativeSubscriber>("source " + name_, config_.connect, std::move(cb));
    native_->set_subscriptions(config_.subscribe, config_.qos);
    Status st = native_->start();
    if (!st.ok()) native_.reset();
    return st;
  }
  client_ = std::make_unique<MqttClient>("source " + name_, config_.connect, std::move(cb));
  client_->set_subscriptions(config_.subscribe, config_.qos);
  Status st = client_->start();
  if (!st.ok()) client_.reset();
  return st;
}

void MqttSource::stop() {
  if (client_) client_->stop();
  if (native_) native_->stop();
  if (up_) up_->set(0);
}

Health MqttSource::health() const {
  if (client_) return client_->health();
  if (native_) return native_->health();
  return Health::kDown;
}

uint64_t MqttSource::connects() const { return client_ ? client_->connects() : native_ ? native_->connects() : 0; }
uint64_t MqttSource::disconnects() const { return client_ ? client_->disconnects() : native_ ? native_->disconnects() : 0; }

void MqttSource::reject(Reason reason, std::string message, std::string_view topic, std::string_view payload, int64_t recv_ns) {
  errors_[reason]->add();
  if (!dead_letters_) return;
  DeadLetter d;
  d.source = name_;
  d.reason = std::move(message);
  d.topic = std::string(topic);
  d.payload = std::string(payload);  // the sink truncates to its bound
  d.recv_ns = recv_ns;
  dead_letters_->write(std::move(d));
}

void MqttSource::handle_message(std::string_view topic, std::string_view payload, int64_t recv_ns) {
  messages_->add();
  std::string_view key;
  int missing = -1;
  if (!key_.render(topic, key_buf_, key, missing)) {
    reject(kBadTopic, missing >= 0 ? "topic has no level " + std::to_string(missing) + " (key '" + key_.text() + "')"
                                   : "topic gives an empty key (key '" + key_.text() + "')",
           topic, payload, recv_ns);
    return;
  }
  records_.clear();
  const Status st = codec_->decode(payload, recv_ns, records_);
  if (!st.ok()) {
    reject(reason_for(st.error().code), st.error().message, topic, payload, recv_ns);
    return;
  }
  if (records_.empty()) return;  // an empty batch
  // After decoding: a flood of garbage on random topics must not fill the key table.
  const Result<KeyId> id = keys_->intern(key, topic);
  if (!id.ok()) {
    reject(kKeyLimit, id.error().message, topic, payload, recv_ns);
    return;
  }
  for (Record& r : records_) {
    r.key = *id;
    r.source = index_;
    output_->push(std::move(r));
  }
  records_total_->add(records_.size());
}

}  // namespace edgeloop
