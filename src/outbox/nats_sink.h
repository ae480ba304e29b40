// `sink: nats`: delivers outbox messages to NATS JetStream on `<prefix>.<gateway>.<kind>`, with
// the message id as Nats-Msg-Id so that JetStream stores a re-sent event once (within the
// stream's duplicate window). A message counts as delivered on its PubAck (stored or a
// duplicate). The stream is looked up (and created when missing and allowed) after every
// connect. Publishes are never buffered by libnats while it reconnects (a send while
// disconnected fails at once), and the epoch changes with every lost connection: the outbox
// re-sends what the old connection did not confirm before anything new.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "connectors/nats/jetstream_publisher.h"
#include "connectors/nats/nats_client.h"
#include "outbox/sink.h"

namespace edgeloop {

struct NatsSinkConfig {
  std::string name = "upstream";  // for logs
  NatsConnectConfig connect;
  JetStreamStreamConfig stream;   // subjects default to "<prefix>.>"
  std::string prefix = "edgeloop";
  std::string gateway;
  int64_t ack_timeout_ms = 5000;
  int max_pending = 1024;  // the outbox's max_in_flight
};

// A subject token from free text: '.', '*', '>' and white space become '_'.
std::string nats_subject_token(std::string_view text);

class NatsSink final : public UpstreamSink {
 public:
  static Result<std::unique_ptr<NatsSink>> create(NatsSinkConfig config);
  ~NatsSink() override;

  Status start(Completion done) override;
  void stop() override;
  bool ready() override;
  uint64_t epoch() const override;
  Status send(const OutboxMessage& m) override;
  Health health() const override;
  std::string describe() const override;

 private:
  explicit NatsSink(NatsSinkConfig config);
  void on_ack(std::string_view msg_id, const JetStreamAck& ack);

  NatsSinkConfig config_;
  std::string subject_prefix_;  // "<prefix>.<gateway>."
  Completion done_;
  std::unique_ptr<NatsClient> client_;
  std::unique_ptr<JetStreamPublisher> publisher_;
  std::atomic<bool> stream_ok_{false};
  uint64_t stream_epoch_ = UINT64_MAX;  // sender thread
  int64_t next_ensure_ns_ = 0;          // sender thread
  int ensure_failures_ = 0;             // sender thread
  std::string subject_;                 // sender thread
};

}  // namespace edgeloop
