// JetStream publishing on a NatsClient's connection: the stream made sure of (created with its
// duplicate window when missing), and asynchronous publishes (js_PublishMsgAsync) with the
// message id in the Nats-Msg-Id header, each answered exactly once through a callback: the
// PubAck (stored, or a duplicate JetStream dropped) or the error (a JetStream error, or no
// answer within ack_timeout).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/nats/nats_client.h"

struct __jsCtx;
struct __natsMsg;
struct jsPubAck;
struct jsPubAckErr;

namespace edgeloop {

struct JetStreamStreamConfig {
  std::string name = "EDGELOOP";
  std::vector<std::string> subjects = {"edgeloop.>"};
  int64_t duplicate_window_ns = 120'000'000'000;  // 2 min
  int replicas = 1;
  bool create = true;  // create the stream when it is missing
};

struct JetStreamAck {
  bool ok = false;
  bool duplicate = false;     // JetStream had this Nats-Msg-Id within its window: not stored again
  uint64_t stream_seq = 0;
  int status = 0;             // natsStatus when !ok
  int js_error = 0;           // jsErrCode when the server refused it (0: none)
  std::string error;          // text when !ok
  bool permanent() const;     // a refusal that a retry cannot fix (message too large)
};

class JetStreamPublisher {
 public:
  // Runs on a libnats thread, once per accepted publish_async.
  using Completion = std::function<void(std::string_view msg_id, const JetStreamAck& ack)>;

  // `client` must outlive the publisher and be started first.
  JetStreamPublisher(NatsClient& client, Completion done, int64_t ack_timeout_ms, int max_pending);
  ~JetStreamPublisher();  // stop()
  JetStreamPublisher(const JetStreamPublisher&) = delete;
  JetStreamPublisher& operator=(const JetStreamPublisher&) = delete;

  // Creates the JetStream context.
  Status start();
  // No completion runs after this returns; acks still pending are forgotten.
  void stop();

  // Blocking (request/reply, up to the connect timeout): looks the stream up and creates it
  // when missing and allowed. An existing stream is left as it is (a shorter duplicate window
  // is logged). kUnavailable while disconnected or when JetStream does not answer.
  Status ensure_stream(const JetStreamStreamConfig& stream);

  // Non-blocking while fewer than max_pending acks are outstanding. The completion follows
  // only when this returns Ok.
  Status publish_async(const std::string& subject, std::string_view data, const std::string& msg_id);

 private:
  static void ack_cb(__jsCtx* js, __natsMsg* msg, jsPubAck* pa, jsPubAckErr* pae, void* hook);

  NatsClient& client_;
  Completion done_;
  int64_t ack_timeout_ms_;
  int max_pending_;
  __jsCtx* js_ = nullptr;
  NatsCallbackHook* hook_ = nullptr;
};

}  // namespace edgeloop
