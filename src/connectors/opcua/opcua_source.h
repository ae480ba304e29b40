// source.opcua: subscribes to OPC UA variables (one subscription, one monitored item per
// node) and turns data changes into records: one stream key per configured group, one field
// per node. Runs its own thread: connect, session, subscription, then a Publish loop with
// acknowledgements; on any failure it reconnects with back-off and re-creates the session,
// subscription and monitored items. A malformed response is counted and dead-lettered, and
// the connection is rebuilt; a value with a Bad status is counted and forwarded as NaN.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "connectors/opcua/ua_client.h"
#include "core/registry.h"

namespace edgeloop {

struct OpcuaGroup {
  std::string key;
  std::vector<std::pair<std::string, opcua::NodeId>> nodes;  // field name, node
};

struct OpcuaSourceConfig {
  opcua::ClientConfig client;
  std::vector<OpcuaGroup> groups;
  double sampling_interval_ms = 100;
  double publishing_interval_ms = 100;
  uint32_t queue_size = 10;
  uint32_t publish_requests = 3;  // Publish requests kept outstanding
  int64_t reconnect_min_ms = 100;
  int64_t reconnect_max_ms = 10000;
};

const OptionTable& opcua_source_options();
Result<OpcuaSourceConfig> opcua_source_config(const Options& options);
// The shared connection options (endpoint, username, password, timeout) of source and action.
void add_opcua_connect_options(OptionTable& t);
Result<opcua::ClientConfig> opcua_connect_config(const Options& options);

class OpcuaSource final : public Source {
 public:
  static Result<std::unique_ptr<OpcuaSource>> create(OpcuaSourceConfig config);
  ~OpcuaSource() override;
  const Schema& schema() const override { return schema_; }
  Status start(SourceContext& ctx) override;
  void stop() override;
  Health health() const override { return health_.load(); }

  uint64_t connects() const { return connects_.load(); }
  uint64_t value_changes() const { return changes_ ? changes_->value() : 0; }

 private:
  explicit OpcuaSource(OpcuaSourceConfig config);
  void run();
  Status session_loop(opcua::UaClient& client);
  void handle(const opcua::PublishResult& p, int64_t recv_ns);
  void flush_group(std::size_t g, int64_t recv_ns);
  void dead_letter(const std::string& reason, int64_t recv_ns);

  OpcuaSourceConfig config_;
  Schema schema_;
  struct Item {
    std::size_t group;
    int field;  // index into the schema
  };
  std::vector<Item> items_;  // by client handle
  struct GroupState {
    KeyId key = kNoKey;
    Record pending;
    bool dirty = false;
    uint64_t dirty_fields = 0;
  };
  std::vector<GroupState> groups_;
  std::string name_;
  uint16_t index_ = 0;
  RecordOutput* output_ = nullptr;
  DeadLetterSink* dead_letters_ = nullptr;
  Counter* changes_ = nullptr;
  Counter* bad_values_ = nullptr;
  Counter* records_ = nullptr;
  Counter* malformed_ = nullptr;
  Counter* reconnects_ = nullptr;
  Gauge* up_ = nullptr;
  std::unique_ptr<Metrics> own_metrics_;
  std::atomic<bool> stop_{false};
  std::atomic<Health> health_{Health::kDown};
  std::atomic<uint64_t> connects_{0};
  std::thread thread_;
};

}  // namespace edgeloop
