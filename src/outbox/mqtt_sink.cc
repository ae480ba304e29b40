#include "outbox/mqtt_sink.h"

#include <mosquitto.h>

namespace edgeloop {

Result<UpstreamTopic> UpstreamTopic::compile(const std::string& text) {
  UpstreamTopic t;
  std::string lit;
  for (std::size_t i = 0; i < text.size();) {
    if (text[i] != '{') {
      lit.push_back(text[i++]);
      continue;
    }
    const std::size_t end = text.find('}', i);
    if (end == std::string::npos) return make_error(Errc::kInvalidArgument, "unclosed '{' in topic '" + text + "'");
    const std::string name = text.substr(i + 1, end - i - 1);
    Part p;
    if (name == "gateway") p = Part::kGateway;
    else if (name == "kind") p = Part::kKind;
    else if (name == "key") p = Part::kKey;
    else if (name == "pipeline") p = Part::kPipeline;
    else if (name == "stage") p = Part::kStage;
    else {
      return make_error(Errc::kInvalidArgument,
                        "unknown placeholder {" + name + "} in topic '" + text + "' (known: gateway, kind, key, pipeline, stage)");
    }
    if (!lit.empty()) t.parts_.emplace_back(Part::kText, std::move(lit));
    lit.clear();
    t.parts_.emplace_back(p, std::string());
    i = end + 1;
  }
  if (!lit.empty()) t.parts_.emplace_back(Part::kText, std::move(lit));
  if (t.parts_.empty()) return make_error(Errc::kInvalidArgument, "the topic cannot be empty");
  if (text.find_first_of("+#") != std::string::npos) {
    return make_error(Errc::kInvalidArgument, "a topic to publish to cannot hold the wildcards + or #");
  }
  return t;
}

void UpstreamTopic::render(const OutboxMessage& m, const std::string& gateway, std::string& out) const {
  out.clear();
  for (const auto& [part, text] : parts_) {
    switch (part) {
      case Part::kText: out += text; break;
      case Part::kGateway: out += gateway; break;
      case Part::kKind: out += m.kind; break;
      case Part::kKey: out += m.key; break;
      case Part::kPipeline: out += m.pipeline; break;
      case Part::kStage: out += m.stage; break;
    }
  }
}

MqttSink::MqttSink(MqttSinkConfig config, UpstreamTopic topic) : config_(std::move(config)), topic_(std::move(topic)) {}

MqttSink::~MqttSink() { stop(); }

Result<std::unique_ptr<MqttSink>> MqttSink::create(MqttSinkConfig config) {
  EDGELOOP_ASSIGN_OR_RETURN(UpstreamTopic topic, UpstreamTopic::compile(config.topic));
  return std::unique_ptr<MqttSink>(new MqttSink(std::move(config), std::move(topic)));
}

Status MqttSink::start(Completion done) {
  if (client_) return make_error(Errc::kInternal, "mqtt sink started twice");
  done_ = std::move(done);
  MqttClient::Callbacks cb;
  cb.on_published = [this](int mid) { on_published(mid); };
  if (config_.connect.client_id.empty()) config_.connect.client_id = default_client_id("outbox-" + config_.name);
  client_ = std::make_unique<MqttClient>("outbox " + config_.name, config_.connect, std::move(cb));
  Status st = client_->start();
  if (!st.ok()) client_.reset();
  return st;
}

void MqttSink::stop() {
  if (!client_) return;
  client_->stop();  // joins libmosquitto's thread: no callback after this
  client_.reset();
  std::lock_guard lock(mu_);
  pending_.clear();
  early_.clear();
}

bool MqttSink::ready() { return client_ && client_->health() == Health::kConnected; }

Health MqttSink::health() const { return client_ ? client_->health() : Health::kDown; }

std::string MqttSink::describe() const {
  return "mqtt " + config_.connect.host + ":" + std::to_string(config_.connect.port);
}

Status MqttSink::send(const OutboxMessage& m) {
  if (!client_) return make_error(Errc::kUnavailable, "not started");
  topic_.render(m, config_.gateway, topic_buf_);
  int mid = 0;
  const int rc = client_->publish(topic_buf_.c_str(), m.payload.data(), static_cast<int>(m.payload.size()), 1, false, &mid);
  switch (rc) {
    // libmosquitto 2.0 queues a QoS 1 message before it tries to send it: these mean "queued,
    // sent after the reconnect" (see connectors/mqtt/mqtt_publish.cc).
    case MOSQ_ERR_SUCCESS:
    case MOSQ_ERR_NO_CONN:
    case MOSQ_ERR_CONN_LOST:
    case MOSQ_ERR_ERRNO:
      break;
    case MOSQ_ERR_PAYLOAD_SIZE:
    case MOSQ_ERR_OVERSIZE_PACKET:
      return make_error(Errc::kTooLarge, std::string("publish: ") + mosquitto_strerror(rc));
    case MOSQ_ERR_INVAL:
    case MOSQ_ERR_MALFORMED_UTF8:
      return make_error(Errc::kInvalidArgument, "publish to '" + topic_buf_ + "': " + mosquitto_strerror(rc));
    default:
      return make_error(Errc::kUnavailable, std::string("publish: ") + mosquitto_strerror(rc));
  }
  bool acked = false;
  {
    std::lock_guard lock(mu_);
    if (early_.erase(mid)) acked = true;
    else pending_[mid] = m.seq;
  }
  if (acked && done_) done_(m.seq, SendOutcome::kDelivered, {});
  return Status::Ok();
}

void MqttSink::on_published(int mid) {
  uint64_t seq = 0;
  {
    std::lock_guard lock(mu_);
    auto it = pending_.find(mid);
    if (it == pending_.end()) {
      early_.insert(mid);
      return;
    }
    seq = it->second;
    pending_.erase(it);
  }
  if (done_) done_(seq, SendOutcome::kDelivered, {});
}

}  // namespace edgeloop
