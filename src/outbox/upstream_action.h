// action.upstream: events bound upstream (`on:` selects them, e.g. "*.alert") go through a
// durable outbox (outbox.h) to an MQTT broker (QoS 1) or NATS JetStream. on_event only
// pushes the event into the outbox's bounded queue.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "core/options.h"
#include "core/plugin.h"
#include "outbox/mqtt_sink.h"
#include "outbox/nats_sink.h"
#include "outbox/outbox.h"

namespace edgeloop {

const OptionTable& upstream_options();

// The host name, the default gateway id ("gateway" when it cannot be read).
std::string default_gateway_id();

struct UpstreamConfig {
  OutboxConfig outbox;
  bool nats = true;  // else mqtt
  NatsSinkConfig nats_sink;
  MqttSinkConfig mqtt_sink;
};

Result<UpstreamConfig> upstream_config(const Options& options);

class UpstreamAction final : public Action {
 public:
  static Result<std::unique_ptr<UpstreamAction>> create(UpstreamConfig config);
  static Result<std::unique_ptr<UpstreamAction>> from_options(const Options& options);
  ~UpstreamAction() override;

  // Opens the outbox database (the backlog of an earlier run is sent), connects the sink.
  Status start(ActionContext& ctx) override;
  void on_event(const Event& e) override;
  void stop() override;
  Health health() const override;

  Outbox* outbox() { return outbox_.get(); }

 private:
  explicit UpstreamAction(UpstreamConfig config) : config_(std::move(config)) {}
  UpstreamConfig config_;
  std::unique_ptr<Outbox> outbox_;
  // outbox_ once started, for health() from other threads (the HTTP API asks while the
  // runtime is still starting its actions).
  std::atomic<Outbox*> started_{nullptr};
};

}  // namespace edgeloop
