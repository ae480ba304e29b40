#include "outbox/nats_sink.h"

#include <nats/nats.h>
#include <spdlog/spdlog.h>

#include <charconv>

#include "core/clock.h"

namespace edgeloop {

std::string nats_subject_token(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c == '.' || c == '*' || c == '>' || c == ' ' || c == '\t' || c == '\r' || c == '\n') c = '_';
  }
  return out.empty() ? std::string("_") : out;
}

NatsSink::NatsSink(NatsSinkConfig config) : config_(std::move(config)) {}

NatsSink::~NatsSink() { stop(); }

Result<std::unique_ptr<NatsSink>> NatsSink::create(NatsSinkConfig config) {
  if (config.prefix.empty()) return make_error(Errc::kInvalidArgument, "the subject prefix cannot be empty");
  if (config.prefix.find_first_of("*> \t") != std::string::npos || config.prefix.front() == '.' ||
      config.prefix.back() == '.') {
    return make_error(Errc::kInvalidArgument, "the subject prefix '" + config.prefix + "' is not a valid subject");
  }
  if (config.stream.name.empty() || config.stream.name.find_first_of(".*> \t") != std::string::npos) {
    return make_error(Errc::kInvalidArgument, "the stream name '" + config.stream.name + "' is not valid");
  }
  if (config.stream.subjects.empty()) config.stream.subjects = {config.prefix + ".>"};
  std::unique_ptr<NatsSink> s(new NatsSink(std::move(config)));
  s->subject_prefix_ = s->config_.prefix + "." + nats_subject_token(s->config_.gateway) + ".";
  return s;
}

Status NatsSink::start(Completion done) {
  if (client_) return make_error(Errc::kInternal, "nats sink started twice");
  done_ = std::move(done);
  NatsConnectConfig connect = config_.connect;
  if (connect.name.empty()) connect.name = "edgeloop-outbox-" + config_.gateway;
  // No buffering while reconnecting: such a publish would overtake the unconfirmed ones of the
  // lost connection. A publish then fails at once and the outbox retries it in order.
  connect.reconnect_buffer_bytes = 1;
  client_ = std::make_unique<NatsClient>("outbox " + config_.name, connect,
                                         NatsClient::Callbacks{{}, [this] { stream_ok_ = false; }});
  EDGELOOP_TRY(client_->start());
  publisher_ = std::make_unique<JetStreamPublisher>(
      *client_, [this](std::string_view id, const JetStreamAck& ack) { on_ack(id, ack); }, config_.ack_timeout_ms,
      config_.max_pending + 16);
  Status st = publisher_->start();
  if (!st.ok()) {
    publisher_.reset();
    client_->stop();
    client_.reset();
  }
  return st;
}

void NatsSink::stop() {
  if (publisher_) publisher_->stop();  // no completion after this
  if (client_) client_->stop();
  publisher_.reset();
  client_.reset();
}

uint64_t NatsSink::epoch() const { return client_ ? client_->epoch() : 0; }

Health NatsSink::health() const {
  if (!client_) return Health::kDown;
  const Health h = client_->health();
  return h == Health::kConnected && !stream_ok_.load() ? Health::kDegraded : h;
}

std::string NatsSink::describe() const { return "nats stream " + config_.stream.name; }

bool NatsSink::ready() {
  if (!client_ || !client_->connected()) return false;
  const uint64_t ep = client_->epoch();
  if (stream_ok_.load() && stream_epoch_ == ep) return true;
  const int64_t now = mono_now_ns();
  if (now < next_ensure_ns_) return false;
  Status st = publisher_->ensure_stream(config_.stream);
  if (!st.ok()) {
    ++ensure_failures_;
    if (ensure_failures_ == 1 || ensure_failures_ % 100 == 0) {
      spdlog::warn("outbox {}: JetStream not ready: {} (attempt {})", config_.name, st.error().message, ensure_failures_);
    }
    next_ensure_ns_ = now + std::min<int64_t>(int64_t{100'000'000} << std::min(ensure_failures_, 5), 5'000'000'000);
    return false;
  }
  ensure_failures_ = 0;
  stream_epoch_ = ep;
  stream_ok_ = true;
  return true;
}

Status NatsSink::send(const OutboxMessage& m) {
  if (!publisher_ || !client_->connected()) return make_error(Errc::kUnavailable, "not connected");
  subject_ = subject_prefix_;
  subject_ += nats_subject_token(m.kind);
  return publisher_->publish_async(subject_, m.payload, m.id);
}

void NatsSink::on_ack(std::string_view msg_id, const JetStreamAck& ack) {
  // The id is "<gateway>:<seq>": the sequence follows the last ':'.
  const auto colon = msg_id.rfind(':');
  uint64_t seq = 0;
  if (colon == std::string_view::npos ||
      std::from_chars(msg_id.data() + colon + 1, msg_id.data() + msg_id.size(), seq).ec != std::errc()) {
    spdlog::error("outbox {}: an acknowledgement for an unknown message id '{}'", config_.name, msg_id);
    return;
  }
  if (ack.ok) {
    done_(seq, SendOutcome::kDelivered, ack.duplicate ? kDuplicateDelivery : std::string_view());
    return;
  }
  if (ack.status == NATS_NO_RESPONDERS || ack.js_error == JSStreamNotFoundErr) stream_ok_ = false;  // look it up again
  done_(seq, ack.permanent() ? SendOutcome::kRejected : SendOutcome::kRetry, ack.error);
}

}  // namespace edgeloop
