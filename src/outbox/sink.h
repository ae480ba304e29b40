// Where the outbox delivers: an upstream (MQTT broker with QoS 1, NATS JetStream). A sink
// sends without waiting and reports each message's fate once, through the completion, from
// any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "core/plugin.h"

namespace edgeloop {

// One stored event, as read back from the outbox database.
struct OutboxMessage {
  uint64_t seq = 0;        // the outbox sequence (durable, never reused)
  std::string id;          // "<gateway>:<seq>": the message id upstream (JetStream de-duplication)
  int64_t created_ns = 0;  // Unix ns when it was committed
  std::string key;
  std::string kind;        // alert, insight, command
  std::string pipeline;
  std::string stage;
  std::string payload;     // the event's JSON (actions/event_json.h)
};

enum class SendOutcome {
  kDelivered,  // the upstream confirmed it (PUBACK, PubAck): the row may go
  kRetry,      // not confirmed (error, timeout, lost connection): send it again later
  kRejected,   // refused for good (too large, invalid topic): dropped and counted, never retried
};

// The `why` of a kDelivered completion when the upstream already had the message (JetStream
// dropped a re-send by its Nats-Msg-Id): counted in edgeloop_outbox_duplicates_total.
inline constexpr std::string_view kDuplicateDelivery = "duplicate";

class UpstreamSink {
 public:
  // seq of the message, what became of it, and why (for retries and rejections).
  using Completion = std::function<void(uint64_t seq, SendOutcome outcome, std::string_view why)>;

  virtual ~UpstreamSink() = default;
  // Starts connecting in the background. `done` may run on any thread, also before send returns.
  virtual Status start(Completion done) = 0;
  // After this returns no completion runs. Messages not yet confirmed stay in the outbox.
  virtual void stop() = 0;
  // On the outbox's sender thread (may block briefly, e.g. to create a JetStream stream):
  // true when send() can go out now.
  virtual bool ready() = 0;
  // Changes whenever messages handed over before may be lost without the sink sending them
  // again itself (a NATS connection lost). The outbox sends nothing new while messages of an
  // older epoch are unresolved, so that a re-send cannot overtake them (order per key).
  // Constant for a sink whose client re-sends on reconnect by itself (libmosquitto, QoS 1).
  virtual uint64_t epoch() const = 0;
  // Hands one message over without waiting for the network. Ok: exactly one completion will
  // follow (unless stop() comes first). An error: nothing was sent; kTooLarge and
  // kInvalidArgument mean it never can be (the outbox drops it), others are retried.
  virtual Status send(const OutboxMessage& m) = 0;
  virtual Health health() const = 0;
  virtual std::string describe() const = 0;  // for logs: "mqtt 127.0.0.1:1883", "nats stream EDGELOOP"
};

}  // namespace edgeloop
