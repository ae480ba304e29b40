// action.sparkplug: edgeloop as a Sparkplug B edge node. On every connect it publishes NBIRTH
// (seq 0, bdSeq of this MQTT session, `Node Control/Rebirth`) and a DBIRTH per known device;
// its NDEATH (same bdSeq) is the MQTT will, and is also published on a clean stop. Each
// event updates the metrics of its device (by default the event's key): the listed value
// fields as Double metrics, `alert` (Boolean: raised/cleared) and `alert/<rule>` for listed
// rules; a device's first event sends its DBIRTH, later ones DDATA with the changed metrics by
// alias. A `Node Control/Rebirth` NCMD re-sends the births.
//
// Threads: on_event (dispatch thread) and libmosquitto's thread (connect, NCMD) share the
// state under a mutex held only to encode and queue (mosquitto_publish does not wait for the
// network), so seq numbers go out in order and on_event never waits on I/O.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "actions/template.h"
#include "connectors/mqtt/mqtt_client.h"
#include "connectors/sparkplug/metric_value.h"
#include "core/registry.h"

namespace edgeloop::sparkplug {

struct EdgeNodeConfig {
  MqttConnectConfig connect;
  std::string group;
  std::string node;
  std::string device = "{key}";  // template; empty: metrics of the node itself (NDATA)
  std::vector<std::string> fields;
  std::vector<std::string> alerts;
  std::size_t max_devices = 10000;
};

const OptionTable& edge_node_options();
Result<EdgeNodeConfig> edge_node_config(const Options& options);

class EdgeNodeAction final : public Action {
 public:
  static Result<std::unique_ptr<EdgeNodeAction>> create(EdgeNodeConfig config);
  static Result<std::unique_ptr<EdgeNodeAction>> from_options(const Options& options);
  ~EdgeNodeAction() override;

  Status start(ActionContext& ctx) override;
  void on_event(const Event& e) override;
  void stop() override;
  Health health() const override;

  // The metric names of a device (or of the node in node mode), in alias order.
  std::vector<std::string> metric_names() const;

 private:
  struct MetricDef {
    std::string name;
    uint32_t datatype;
  };
  struct Device {
    std::string id;  // empty: the node itself
    std::vector<double> values;
    uint64_t alias_base = 0;
  };
  struct SchemaIndex {
    const Schema* schema = nullptr;
    std::vector<int> index;  // per config field: its index in the schema, or -1
  };

  explicit EdgeNodeAction(EdgeNodeConfig config);
  // With mu_ held.
  void publish_births();
  void publish_birth(const Device& d, int64_t ts_ms);
  void publish_data(const Device& d, const std::vector<uint32_t>& changed, int64_t ts_ms);
  void send(const std::string& topic);
  uint64_t next_seq();
  std::string death_payload() const;
  void handle_command(std::string_view topic, std::string_view payload);
  const SchemaIndex& resolve(const Schema* schema);

  EdgeNodeConfig config_;
  std::vector<MetricDef> defs_;
  EventTemplate device_;
  bool node_mode_ = false;
  std::unique_ptr<MqttClient> client_;
  std::string name_;
  KeyTable* keys_ = nullptr;
  DeadLetterSink* dead_letters_ = nullptr;

  mutable std::mutex mu_;
  bool connected_ = false;   // guarded by mu_
  uint64_t bdseq_ = 0;       // guarded by mu_
  uint64_t seq_ = 0;         // guarded by mu_
  std::vector<Device> devices_;                          // guarded by mu_
  std::unordered_map<std::string, std::size_t> by_id_;  // guarded by mu_
  PbPayload payload_;        // guarded by mu_
  std::string buf_;          // guarded by mu_
  // Dispatch thread only.
  std::string dev_buf_;
  std::vector<SchemaIndex> schemas_;
  std::vector<uint32_t> changed_;
  std::vector<std::pair<uint32_t, double>> updates_;

  Counter* events_ = nullptr;
  Counter* published_ = nullptr;
  Counter* errors_ = nullptr;
  Counter* dropped_ = nullptr;
  Counter* rebirths_ = nullptr;
  Gauge* up_ = nullptr;
  std::unique_ptr<Metrics> own_metrics_;
};

}  // namespace edgeloop::sparkplug
