// action.sparkplug_command: sends a Sparkplug NCMD (or DCMD with a device) per event, one
// metric whose value is a constant or an event field, so a rule can close the loop on a
// Sparkplug edge node or device. QoS 0 as the spec says; while the broker is away commands are
// dropped and counted, never sent late.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "actions/template.h"
#include "connectors/mqtt/mqtt_client.h"
#include "connectors/sparkplug/metric_value.h"
#include "core/registry.h"

namespace edgeloop::sparkplug {

struct CommandConfig {
  MqttConnectConfig connect;
  std::string group;
  std::string node;    // template
  std::string device;  // template; empty: NCMD
  std::string metric;
  uint32_t datatype = pb::Double;
  std::string value;   // a number, true/false, or an event field name
};

const OptionTable& command_options();
Result<CommandConfig> command_config(const Options& options);

class CommandAction final : public Action {
 public:
  static Result<std::unique_ptr<CommandAction>> create(CommandConfig config);
  static Result<std::unique_ptr<CommandAction>> from_options(const Options& options);
  ~CommandAction() override;

  Status start(ActionContext& ctx) override;
  void on_event(const Event& e) override;
  void stop() override;
  Health health() const override;

 private:
  explicit CommandAction(CommandConfig config);

  CommandConfig config_;
  EventTemplate node_;
  EventTemplate device_;
  bool constant_ = false;
  double constant_value_ = 0;
  std::unique_ptr<MqttClient> client_;
  std::string name_;
  KeyTable* keys_ = nullptr;
  const Schema* last_schema_ = nullptr;  // dispatch thread: the field's index per schema
  int field_index_ = -1;
  std::string node_buf_, device_buf_, buf_;
  PbPayload payload_;
  Counter* events_ = nullptr;
  Counter* published_ = nullptr;
  Counter* errors_ = nullptr;
  Counter* dropped_ = nullptr;
  Gauge* up_ = nullptr;
  std::unique_ptr<Metrics> own_metrics_;
};

}  // namespace edgeloop::sparkplug
