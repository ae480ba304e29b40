#include "connectors/mqtt/mqtt_publish.h"

#include <mosquitto.h>
#include <spdlog/spdlog.h>

#include "actions/action_metrics.h"

namespace edgeloop {

const OptionTable& mqtt_publish_options() {
  static const OptionTable table = [] {
    OptionTable t;
    t.push_back({"topic", OptionType::kString, "",
                 "Topic to publish to, a template, e.g. `plant/{key}/cmd` (placeholders as in `payload`).", true});
    t.push_back({"payload", OptionType::kString, kDefaultMqttPayload,
                 "Message body, a template: {key}, {topic}, {topic[N]}, {ts} (int ns), {ts_ms}, {time}, {kind}, {state}, "
                 "{rule}, {pipeline}, {seq}, {values} (a JSON object), {fields}, or a value field name such as {mean}. "
                 "A template that starts with `{` or `[` is JSON: inserted strings are escaped and it must render "
                 "valid JSON."});
    t.push_back({"qos", OptionType::kInt, "1", "QoS of the messages: 0 or 1.", false, 0, 1});
    t.push_back({"retain", OptionType::kBool, "false", "Publish with the retain flag."});
    t.push_back({"max_pending", OptionType::kInt, "10000",
                 "Messages that may wait while the broker is away (QoS 1: kept by libmosquitto until acknowledged; "
                 "QoS 0: queued here). Past it new messages are dropped and counted (edgeloop_action_dropped_total).",
                 false, 1, 10'000'000});
    add_mqtt_connect_options(t);
    return t;
  }();
  return table;
}

Result<MqttPublishConfig> mqtt_publish_config(const Options& options) {
  MqttPublishConfig c;
  EDGELOOP_ASSIGN_OR_RETURN(c.connect, mqtt_connect_config(options));
  c.topic = options.str("topic");
  c.payload = options.str("payload");
  c.qos = static_cast<int>(options.integer("qos"));
  c.retain = options.flag("retain");
  c.max_pending = static_cast<std::size_t>(options.integer("max_pending"));
  return c;
}

// libmosquitto 2.0 queues a QoS 1 message before it tries to send it, and returns the send's
// result: MOSQ_ERR_NO_CONN while disconnected, yet the message stays queued and goes out after
// the reconnect (checked by test: mqtt_publish_test). Only the checks made before queueing
// (topic, payload size, UTF-8, memory) mean it was refused.
static bool queued_by_library(int rc) {
  return rc == MOSQ_ERR_SUCCESS || rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_CONN_LOST || rc == MOSQ_ERR_ERRNO;
}

MqttPublishAction::MqttPublishAction(MqttPublishConfig config) : config_(std::move(config)) {}

MqttPublishAction::~MqttPublishAction() { stop(); }

Result<std::unique_ptr<MqttPublishAction>> MqttPublishAction::create(MqttPublishConfig config) {
  if (config.topic.empty()) return make_error(Errc::kInvalidArgument, "the topic cannot be empty");
  if (config.qos < 0 || config.qos > 1) return make_error(Errc::kInvalidArgument, "qos must be 0 or 1");
  if (config.max_pending == 0) return make_error(Errc::kInvalidArgument, "max_pending must be at least 1");
  auto topic = EventTemplate::compile(config.topic, EventTemplate::Escape::kNone);
  if (!topic.ok()) return topic.take_error();
  auto payload = EventTemplate::compile(config.payload, EventTemplate::escape_for(config.payload));
  if (!payload.ok()) return payload.take_error();
  if (EventTemplate::escape_for(config.payload) == EventTemplate::Escape::kJson) EDGELOOP_TRY(check_renders_json(*payload));
  std::unique_ptr<MqttPublishAction> a(new MqttPublishAction(std::move(config)));
  a->topic_ = std::move(topic).value();
  a->payload_ = std::move(payload).value();
  return a;
}

Result<std::unique_ptr<MqttPublishAction>> MqttPublishAction::from_options(const Options& options) {
  EDGELOOP_ASSIGN_OR_RETURN(MqttPublishConfig config, mqtt_publish_config(options));
  const bool topic_bad = !EventTemplate::compile(config.topic).ok();
  auto a = create(std::move(config));
  if (!a.ok()) return options.error(topic_bad ? "topic" : "payload", a.error().message);
  return a;
}

Status MqttPublishAction::start(ActionContext& ctx) {
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
  topic_.set_unknown_counter(errors_);
  payload_.set_unknown_counter(errors_);
  topic_buf_.reserve(256);
  payload_buf_.reserve(1024);

  MqttClient::Callbacks cb;
  cb.on_connected = [this] {
    up_->set(1);
    flush_queue();
  };
  cb.on_disconnected = [this] { up_->set(0); };
  cb.on_published = [this](int) {
    if (config_.qos == 1) in_flight_.fetch_sub(1, std::memory_order_relaxed);
    published_->add();
  };
  client_ = std::make_unique<MqttClient>("action " + name_, config_.connect, std::move(cb));
  up_->set(0);
  Status st = client_->start();
  if (!st.ok()) client_.reset();
  return st;
}

void MqttPublishAction::stop() {
  if (!client_) return;
  client_->stop();
  if (up_) up_->set(0);
  std::lock_guard lock(mu_);
  if (!queue_.empty() || in_flight_.load() > 0) {
    spdlog::warn("action {}: stopped with {} message(s) not delivered", name_,
                 queue_.size() + static_cast<std::size_t>(std::max<int64_t>(0, in_flight_.load())));
  }
}

Health MqttPublishAction::health() const { return client_ ? client_->health() : Health::kDown; }

std::size_t MqttPublishAction::pending() const {
  std::lock_guard lock(mu_);
  return queue_.size() + static_cast<std::size_t>(std::max<int64_t>(0, in_flight_.load()));
}

void MqttPublishAction::fail(int rc, const std::string& topic, const std::string& payload) {
  errors_->add();
  const std::string why = std::string("publish to '") + topic + "' failed: " + mosquitto_strerror(rc);
  // Logged at first and then every 1000th, so a systematic error does not flood the log.
  if (error_logs_.fetch_add(1) % 1000 == 0) spdlog::error("action {}: {}", name_, why);
  if (!dead_letters_) return;
  DeadLetter d;
  d.source = name_;
  d.reason = why;
  d.topic = topic;
  d.payload = payload;
  dead_letters_->write(std::move(d));
}

void MqttPublishAction::on_event(const Event& e) {
  events_->add();
  topic_buf_.clear();
  topic_.render(e, *keys_, topic_buf_);
  payload_buf_.clear();
  payload_.render(e, *keys_, payload_buf_);
  publish_rendered();
}

void MqttPublishAction::publish_rendered() {
  auto enqueue = [&] {  // with mu_ held
    if (queue_.size() + static_cast<std::size_t>(std::max<int64_t>(0, in_flight_.load())) >= config_.max_pending) {
      dropped_->add();
      return;
    }
    queue_.push_back(Message{topic_buf_, payload_buf_});
  };
  {
    std::lock_guard lock(mu_);
    // Behind messages still waiting, to keep the order.
    if (!queue_.empty() || flushing_) {
      enqueue();
      return;
    }
  }
  if (config_.qos == 1) {
    // Counted before the call: the acknowledgement may come before publish returns.
    if (in_flight_.fetch_add(1, std::memory_order_relaxed) >= static_cast<int64_t>(config_.max_pending)) {
      in_flight_.fetch_sub(1, std::memory_order_relaxed);
      dropped_->add();
      return;
    }
  }
  const int rc = client_->publish(topic_buf_.c_str(), payload_buf_.data(), static_cast<int>(payload_buf_.size()), config_.qos,
                                  config_.retain);
  if (rc == MOSQ_ERR_SUCCESS) return;
  if (config_.qos == 1) {
    if (queued_by_library(rc)) return;
    in_flight_.fetch_sub(1, std::memory_order_relaxed);
  } else if (rc == MOSQ_ERR_NO_CONN) {
    std::lock_guard lock(mu_);
    enqueue();
    return;
  }
  fail(rc, topic_buf_, payload_buf_);
}

void MqttPublishAction::flush_queue() {
  std::deque<Message> batch;
  {
    std::lock_guard lock(mu_);
    if (queue_.empty()) return;
    flushing_ = true;
  }
  while (true) {
    {
      std::lock_guard lock(mu_);
      if (!batch.empty()) {
        // What could not go out goes back in front, in order.
        queue_.insert(queue_.begin(), std::make_move_iterator(batch.begin()), std::make_move_iterator(batch.end()));
        batch.clear();
        flushing_ = false;
        return;
      }
      if (queue_.empty()) {
        flushing_ = false;
        return;
      }
      batch.swap(queue_);
    }
    // Publishing outside the lock: on_event only appends meanwhile (flushing_).
    while (!batch.empty()) {
      Message& m = batch.front();
      if (config_.qos == 1) in_flight_.fetch_add(1, std::memory_order_relaxed);
      const int rc = client_->publish(m.topic.c_str(), m.payload.data(), static_cast<int>(m.payload.size()), config_.qos,
                                      config_.retain);
      if (config_.qos == 0 && rc == MOSQ_ERR_NO_CONN) break;  // disconnected again: keep the rest for the next connect
      if (config_.qos == 1 && !queued_by_library(rc)) {
        in_flight_.fetch_sub(1, std::memory_order_relaxed);
        fail(rc, m.topic, m.payload);
      } else if (config_.qos == 0 && rc != MOSQ_ERR_SUCCESS) {
        fail(rc, m.topic, m.payload);
      }
      batch.pop_front();
    }
  }
}

}  // namespace edgeloop
