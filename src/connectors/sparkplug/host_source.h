// source.sparkplug: a Sparkplug B host application. Subscribes to spBv1.0/<group>/#, keeps per
// edge node (and device) the birth's metrics (name, alias, datatype, last value), resolves
// aliases in DATA, checks the node's seq (0..255, wrapping) and asks for a rebirth (NCMD
// `Node Control/Rebirth` = true, rate-limited per node) on a gap, on DATA before a BIRTH and on
// an unknown alias; NDEATH (with the birth's bdSeq) and DDEATH mark metrics stale.
//
// Records: in "wide" mode (`metrics` set) one record per BIRTH/DATA of a node or device with the
// listed metrics as fields (their latest values: report by exception leaves the others as they
// were; NaN until known) plus a last field `stale` (0, or 1 in the record a death emits). In
// "long" mode (`metrics` empty) one record per numeric metric, fields `value`, `stale`, keyed
// by a template that holds {metric}.
#pragma once

#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "connectors/mqtt/mqtt_client.h"
#include "connectors/sparkplug/metric_value.h"
#include "connectors/sparkplug/topic.h"
#include "core/registry.h"

namespace edgeloop::sparkplug {

struct HostConfig {
  MqttConnectConfig connect;
  std::string group;  // empty: every group ("+")
  std::string key;    // template: {group} {node} {device} {metric}
  std::vector<std::string> metrics;  // wide mode: these become fields, in order
  int64_t rebirth_interval_ns = 5'000'000'000;
  std::string host_id;  // set: STATE messages (retained, will) as a primary host application
  int qos = 0;
};

const OptionTable& host_source_options();
Result<HostConfig> host_config(const Options& options);

// The stream key of a message: {group}, {node}, {device}, {metric}; a literal right before
// {device} is left out with an empty device ("{group}/{node}/{device}" of a node is "g/n").
class KeyTemplate {
 public:
  static Result<KeyTemplate> compile(std::string_view text);
  void render(std::string_view group, std::string_view node, std::string_view device, std::string_view metric,
              std::string& out) const;
  bool uses_metric() const { return uses_metric_; }

 private:
  enum class Part { kLiteral, kGroup, kNode, kDevice, kMetric };
  struct Segment {
    Part part;
    std::string text;
  };
  std::vector<Segment> segments_;
  bool uses_metric_ = false;
};

class HostSource final : public Source {
 public:
  enum Reason { kMalformed, kBadTopic, kUnknownAlias, kNoBirth, kKeyLimit, kReasons };
  static const char* reason_name(int reason);

  static Result<std::unique_ptr<HostSource>> create(HostConfig config);
  static Result<std::unique_ptr<HostSource>> from_options(const Options& options);
  ~HostSource() override;

  const Schema& schema() const override { return schema_; }
  Status start(SourceContext& ctx) override;
  void stop() override;
  Health health() const override;

  // The message path, on libmosquitto's thread (public for tests and benchmarks, after bind()).
  void handle_message(std::string_view topic, std::string_view payload, int64_t recv_ns);
  // Binds the context without connecting; `publish` sends the NCMDs (start() binds the session).
  using Publisher = std::function<void(const std::string& topic, const std::string& payload)>;
  Status bind(SourceContext& ctx, Publisher publish);

  uint64_t rebirths_requested() const { return rebirths_ ? rebirths_->value() : 0; }
  uint64_t seq_gaps() const { return gaps_ ? gaps_->value() : 0; }
  const HostConfig& config() const { return config_; }

 private:
  struct MetricInfo {
    std::string name;
    uint32_t datatype = 0;
    int field = -1;        // wide mode: index in the record, or -1
    KeyId key = kNoKey;    // long mode: the metric's stream key
    double last = 0;       // long mode: the latest value
    bool numeric = false;
  };
  struct Device {
    std::vector<MetricInfo> metrics;
    std::unordered_map<uint64_t, uint32_t> by_alias;
    std::unordered_map<std::string, uint32_t, StringHash, std::equal_to<>> by_name;
    std::array<double, kMaxFields> values{};
    KeyId key = kNoKey;  // wide mode
    bool alive = false;
    bool stale = false;
  };
  struct Node {
    std::string group, name;
    bool alive = false;
    bool has_bdseq = false;
    uint64_t bdseq = 0;
    int expected_seq = -1;
    int64_t last_rebirth_ns = INT64_MIN / 2;
    Device self;
    std::unordered_map<std::string, Device, StringHash, std::equal_to<>> devices;
  };

  explicit HostSource(HostConfig config, KeyTemplate key);
  void reject(Reason reason, std::string message, std::string_view topic, std::string_view payload, int64_t recv_ns);
  Node& node_for(const Topic& t);
  // False (and dead-lettered) when the key table is full.
  bool birth(Node& node, Device& dev, const Topic& t, std::string_view topic, std::string_view payload, int64_t recv_ns);
  void data(Node& node, Device& dev, std::string_view topic, std::string_view payload, int64_t recv_ns, bool is_birth);
  void mark_stale(Device& dev, int64_t ts_ns, int64_t recv_ns);
  bool check_seq(Node& node, std::string_view topic, int64_t recv_ns);
  void request_rebirth(Node& node, int64_t recv_ns);
  int64_t metric_ts(const PbMetric& m, int64_t recv_ns) const;
  void push_wide(Device& dev, int64_t ts_ns, int64_t recv_ns);
  void push_long(const MetricInfo& mi, int64_t ts_ns, int64_t recv_ns, bool stale);
  std::string state_payload(bool online) const;

  HostConfig config_;
  KeyTemplate key_;
  Schema schema_;
  bool wide_ = false;
  std::unique_ptr<MqttClient> client_;
  int64_t state_ts_ms_ = 0;
  // Bound by bind(): used on libmosquitto's thread only.
  std::string name_;
  uint16_t index_ = 0;
  RecordOutput* output_ = nullptr;
  DeadLetterSink* dead_letters_ = nullptr;
  std::optional<KeyCache> keys_;
  Publisher publish_;
  PbPayload payload_;  // reused: Clear() keeps its allocations
  PbPayload ncmd_;
  std::string ncmd_buf_;
  std::string key_buf_;
  std::string node_buf_;
  std::unordered_map<std::string, Node, StringHash, std::equal_to<>> nodes_;
  Counter* messages_ = nullptr;
  Counter* records_total_ = nullptr;
  Counter* metrics_total_ = nullptr;
  Counter* skipped_ = nullptr;
  Counter* gaps_ = nullptr;
  Counter* rebirths_ = nullptr;
  Counter* stale_ = nullptr;
  Counter* deaths_ignored_ = nullptr;
  Counter* errors_[kReasons] = {};
  Gauge* up_ = nullptr;
  std::unique_ptr<Metrics> own_metrics_;
};

}  // namespace edgeloop::sparkplug
