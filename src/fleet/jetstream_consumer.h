// The subscribe side of NATS JetStream for the fleet (libnats): one connection to a list of
// servers that libnats keeps reconnecting, a durable pull consumer with explicit acks, and
// the stream's and the consumer's progress (for resuming and rebuilding). Used from one
// thread (the fleet's consumer thread); connected() and reconnects() from any.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

struct __natsConnection;
struct __natsSubscription;
struct __natsMsg;
struct __jsCtx;

namespace edgeloop::fleet {

struct JetStreamConsumerConfig {
  std::vector<std::string> servers;  // nats://host:port, tried in random order
  std::string stream = "EDGELOOP";
  std::string durable = "edgeloop-fleet";
  std::string subject = "edgeloop.>";
  std::string domain;                    // JetStream domain (through a leaf node); empty: the local one
  int64_t ack_wait_ns = 30'000'000'000;  // unacked messages are redelivered after this
  int64_t max_ack_pending = 20'000;      // the server stops delivering at this many unacked
  std::string client_name = "edgeloop-fleet";
  int64_t connect_timeout_ms = 2000;
  int64_t reconnect_wait_ms = 250;
  int64_t ping_interval_ms = 5000;  // a server that stopped answering is left after 2 missed PONGs
  int64_t api_wait_ms = 5000;       // JetStream API requests (stream and consumer info, create)
};

struct StreamProgress {
  uint64_t first_seq = 0;
  uint64_t last_seq = 0;
  uint64_t messages = 0;
  int64_t created_ns = 0;  // identifies this incarnation of the stream
};

struct ConsumerProgress {
  bool exists = false;
  uint64_t ack_floor_stream_seq = 0;  // every message up to here was acknowledged
  uint64_t delivered_stream_seq = 0;
  uint64_t num_pending = 0;  // not yet delivered
  int64_t num_ack_pending = 0;
};

// One message pulled from the stream; owns it (destroyed with it, acked or not).
class JetStreamMessage {
 public:
  JetStreamMessage() = default;
  explicit JetStreamMessage(__natsMsg* msg);
  ~JetStreamMessage();
  JetStreamMessage(JetStreamMessage&& o) noexcept;
  JetStreamMessage& operator=(JetStreamMessage&& o) noexcept;
  JetStreamMessage(const JetStreamMessage&) = delete;
  JetStreamMessage& operator=(const JetStreamMessage&) = delete;

  std::string_view subject() const;
  std::string_view data() const;
  std::string msg_id() const;  // the Nats-Msg-Id header, "" when absent
  uint64_t stream_seq() const { return stream_seq_; }
  uint64_t num_pending() const { return num_pending_; }      // after this one, not yet delivered
  uint64_t num_delivered() const { return num_delivered_; }  // 1 the first time
  __natsMsg* raw() const { return msg_; }

 private:
  __natsMsg* msg_ = nullptr;
  uint64_t stream_seq_ = 0;
  uint64_t num_pending_ = 0;
  uint64_t num_delivered_ = 0;
};

class JetStreamConsumer {
 public:
  explicit JetStreamConsumer(JetStreamConsumerConfig config);
  ~JetStreamConsumer();
  JetStreamConsumer(const JetStreamConsumer&) = delete;
  JetStreamConsumer& operator=(const JetStreamConsumer&) = delete;

  // One attempt to reach a server of the list. Once connected, libnats reconnects by itself
  // (forever), buffering what is published (acks) meanwhile.
  Status connect();
  bool has_connection() const { return nc_ != nullptr; }
  bool connected() const;
  uint64_t reconnects() const { return link_->reconnects.load(std::memory_order_relaxed); }
  uint64_t disconnects() const { return link_->disconnects.load(std::memory_order_relaxed); }

  Result<StreamProgress> stream_progress();  // kNotFound when the stream is missing
  // Creates the stream (file storage, subjects: `subject`); an existing one is left as it is.
  Status create_stream(int replicas, int64_t duplicate_window_ns);
  Result<ConsumerProgress> consumer_progress();  // exists=false when the durable is missing
  Status delete_consumer();                      // no error when it is missing

  // Binds to the durable when it exists; otherwise creates it (explicit acks, filter
  // `subject`), delivering from `start_seq` (0: from the stream's first message).
  Status subscribe(bool exists, uint64_t start_seq);
  bool subscribed() const { return sub_ != nullptr; }
  // Forgets the local subscription (the durable stays on the server).
  void drop_subscription();

  // Up to `batch` messages, waiting up to `timeout_ms` for the first; `out` is cleared.
  // No message before the timeout is not an error (out stays empty).
  Status fetch(int batch, int64_t timeout_ms, std::vector<JetStreamMessage>& out);
  Status ack(const JetStreamMessage& m);
  Status flush(int64_t timeout_ms);  // what was published (acks) reached the server
  void close();

  const JetStreamConsumerConfig& config() const { return config_; }

 private:
  // What libnats' callbacks update. libnats may run a queued callback after the connection
  // was destroyed, so these live for the whole process (one small slot per consumer).
  struct LinkCounters {
    std::atomic<uint64_t> disconnects{0};
    std::atomic<uint64_t> reconnects{0};
  };
  static LinkCounters* new_link_counters();
  static void on_disconnected(__natsConnection* nc, void* link);
  static void on_reconnected(__natsConnection* nc, void* link);

  JetStreamConsumerConfig config_;
  __natsConnection* nc_ = nullptr;
  __jsCtx* js_ = nullptr;
  __natsSubscription* sub_ = nullptr;
  LinkCounters* link_;
};

}  // namespace edgeloop::fleet
