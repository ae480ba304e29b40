// action.opcua_write: per event, writes one OPC UA variable (its Value attribute) with a value
// rendered from a template of the event. The Variant's type follows the node's DataType, read
// once after the first connect and cached (or fixed by the `data_type` option). on_event only
// renders the text and hands it to the action's own writer thread through a bounded queue
// (full: the write is dropped and counted). The writer keeps a session open, renews the
// channel, reconnects with back-off and retries a write whose connection broke; a refused
// write (Bad status, a value that does not fit the type) is counted and dead-lettered. An
// optional read-back compares the node's value with what was written.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "actions/action_metrics.h"
#include "actions/template.h"
#include "actions/write_failures.h"
#include "actions/write_queue.h"
#include "connectors/opcua/ua_client.h"
#include "core/registry.h"

namespace edgeloop {

struct OpcuaWriteConfig {
  opcua::ClientConfig client;
  opcua::NodeId node;
  std::string value;  // template, e.g. "{temp}" or "1"
  // Fixed Variant type instead of reading the node's DataType (kNull: read it).
  opcua::VariantType data_type = opcua::VariantType::kNull;
  bool readback = false;
  std::size_t max_pending = 1000;
  int64_t reconnect_min_ms = 100;
  int64_t reconnect_max_ms = 10000;
  int64_t keepalive_ms = 20000;  // a Read of the server state when idle this long (keeps the session)
};

const OptionTable& opcua_write_options();
Result<OpcuaWriteConfig> opcua_write_config(const Options& options);

namespace opcua {
// The built-in type that carries values of a DataType node id (i=1..15 and common subtypes such
// as Duration, UtcTime, IntegerId, Enumeration); kTypeMismatch for others (structures...).
Result<VariantType> variant_type_for(const NodeId& data_type);
// Text rendered by a template -> a scalar of `t`: String/ByteString take the text, Boolean
// takes true/false or a number, numeric types a number that fits (Float rounded to float).
Result<Variant> variant_from_text(VariantType t, std::string_view text);
// Whether a read-back value equals what was written (numbers by value, text by bytes).
bool same_value(const Variant& written, const Variant& read);
}  // namespace opcua

class OpcuaWriteAction final : public Action {
 public:
  static Result<std::unique_ptr<OpcuaWriteAction>> create(OpcuaWriteConfig config);
  static Result<std::unique_ptr<OpcuaWriteAction>> from_options(const Options& options);
  ~OpcuaWriteAction() override;

  Status start(ActionContext& ctx) override;
  void on_event(const Event& e) override;
  void stop() override;
  Health health() const override { return health_.load(); }

  // For tests and summaries.
  uint64_t written() const { return am_.published ? am_.published->value() : 0; }
  uint64_t failed() const { return am_.errors ? am_.errors->value() : 0; }
  uint64_t dropped() const { return am_.dropped ? am_.dropped->value() : 0; }
  uint64_t verified() const { return verified_ ? verified_->value() : 0; }
  uint64_t mismatches() const { return mismatches_ ? mismatches_->value() : 0; }
  uint64_t connects() const { return connects_.load(); }

 private:
  struct Job {
    std::string text;
    int64_t recv_ns = 0;
    int attempts = 0;
  };
  explicit OpcuaWriteAction(OpcuaWriteConfig config);
  void run();
  enum class Outcome { kDone, kRetry, kDoneReconnect };
  // Writes (and reads back) one job. kRetry: the connection failed, keep the job for the next
  // session; kDoneReconnect: the job is finished but the session must be rebuilt.
  Outcome perform(opcua::UaClient& client, Job& job);
  void set_health(Health h);

  OpcuaWriteConfig config_;
  EventTemplate value_;
  std::string name_;
  KeyTable* keys_ = nullptr;
  std::string value_buf_;  // dispatch thread
  std::optional<opcua::VariantType> type_;  // writer thread: the node's type, once known
  std::atomic<Health> health_{Health::kConnecting};
  std::atomic<uint64_t> connects_{0};
  std::atomic<bool> stop_flag_{false};
  std::thread thread_;
  WriteQueue<Job> queue_;
  WriteFailures failures_;
  bool started_ = false;
  Counter* verified_ = nullptr;
  Counter* mismatches_ = nullptr;
  Counter* reconnects_ = nullptr;
  Histogram* latency_ = nullptr;
  PublishActionMetrics am_;  // the shared action counters (actions/action_metrics.h)
  std::unique_ptr<Metrics> own_metrics_;
};

}  // namespace edgeloop
