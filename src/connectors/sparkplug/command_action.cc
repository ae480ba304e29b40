#include "connectors/sparkplug/command_action.h"

#include <mosquitto.h>
#include <spdlog/spdlog.h>

#include "actions/action_metrics.h"
#include "connectors/sparkplug/topic.h"
#include "core/clock.h"

namespace edgeloop::sparkplug {

const OptionTable& command_options() {
  static const OptionTable table = [] {
    OptionTable t;
    t.push_back({"group", OptionType::kString, "", "Sparkplug group id of the edge node to command.", true});
    t.push_back({"node", OptionType::kString, "",
                 "Edge node id, a template over the event (e.g. `{topic[3]}`, or a constant): topic "
                 "`spBv1.0/<group>/NCMD/<node>`.",
                 true});
    t.push_back({"device", OptionType::kString, "",
                 "Device id, a template over the event; set: a DCMD to `spBv1.0/<group>/DCMD/<node>/<device>`."});
    t.push_back({"metric", OptionType::kString, "", "Name of the metric to write, as in the node's birth.", true});
    t.push_back({"datatype", OptionType::kString, "Double",
                 "Sparkplug datatype of the metric: Int8, Int16, Int32, Int64, UInt8, UInt16, UInt32, UInt64, Float, "
                 "Double, Boolean or DateTime."});
    t.push_back({"value", OptionType::kString, "",
                 "The value: a number, `true`/`false`, or the name of an event value field (e.g. `mean`). An event "
                 "without that field sends nothing and is counted as an error.",
                 true});
    add_mqtt_connect_options(t);
    return t;
  }();
  return table;
}

Result<CommandConfig> command_config(const Options& options) {
  CommandConfig c;
  EDGELOOP_ASSIGN_OR_RETURN(c.connect, mqtt_connect_config(options));
  c.group = options.str("group");
  c.node = options.str("node");
  c.device = options.str("device");
  c.metric = options.str("metric");
  const int dt = datatype_from_name(options.str("datatype"));
  if (dt < 0 || !is_numeric_type(static_cast<uint32_t>(dt))) {
    return options.error("datatype", "'" + options.str("datatype") + "' is not a numeric Sparkplug datatype");
  }
  c.datatype = static_cast<uint32_t>(dt);
  c.value = options.str("value");
  return c;
}

CommandAction::CommandAction(CommandConfig config) : config_(std::move(config)) {}
CommandAction::~CommandAction() { stop(); }

Result<std::unique_ptr<CommandAction>> CommandAction::create(CommandConfig config) {
  if (config.group.empty() || config.group.find_first_of("/+#") != std::string::npos) {
    return make_error(Errc::kInvalidArgument, "group must be a non-empty id without '/', '+', '#'");
  }
  if (config.metric.empty()) return make_error(Errc::kInvalidArgument, "metric cannot be empty");
  if (config.value.empty()) return make_error(Errc::kInvalidArgument, "value cannot be empty");
  std::unique_ptr<CommandAction> a(new CommandAction(std::move(config)));
  auto node = EventTemplate::compile(a->config_.node);
  if (!node.ok()) return node.take_error();
  a->node_ = std::move(node).value();
  if (!a->config_.device.empty()) {
    auto dev = EventTemplate::compile(a->config_.device);
    if (!dev.ok()) return dev.take_error();
    a->device_ = std::move(dev).value();
  }
  const std::string& v = a->config_.value;
  if (v == "true" || v == "false") {
    a->constant_ = true;
    a->constant_value_ = v == "true" ? 1 : 0;
  } else if (auto n = parse_number(v); n.ok()) {
    a->constant_ = true;
    a->constant_value_ = *n;
  }
  return a;
}

Result<std::unique_ptr<CommandAction>> CommandAction::from_options(const Options& options) {
  EDGELOOP_ASSIGN_OR_RETURN(CommandConfig config, command_config(options));
  auto a = create(std::move(config));
  if (!a.ok()) return options.error("node", a.error().message);
  return a;
}

Status CommandAction::start(ActionContext& ctx) {
  if (client_) return make_error(Errc::kInternal, "action " + ctx.name + ": started twice");
  if (!ctx.keys) return make_error(Errc::kInvalidArgument, "action " + ctx.name + ": no key table");
  name_ = ctx.name;
  keys_ = ctx.keys;
  const PublishActionMetrics am = make_publish_action_metrics(ctx, own_metrics_);
  events_ = am.events;
  published_ = am.published;
  errors_ = am.errors;
  dropped_ = am.dropped;
  up_ = am.up;
  node_.set_unknown_counter(errors_);
  device_.set_unknown_counter(errors_);
  MqttClient::Callbacks cb;
  cb.on_connected = [this] { up_->set(1); };
  cb.on_disconnected = [this] { up_->set(0); };
  up_->set(0);
  client_ = std::make_unique<MqttClient>("action " + name_, config_.connect, std::move(cb));
  Status st = client_->start();
  if (!st.ok()) client_.reset();
  return st;
}

void CommandAction::stop() {
  if (!client_) return;
  client_->stop();
  client_.reset();
  if (up_) up_->set(0);
}

Health CommandAction::health() const { return client_ ? client_->health() : Health::kDown; }

void CommandAction::on_event(const Event& e) {
  events_->add();
  double v = constant_value_;
  if (!constant_) {
    if (e.schema != last_schema_) {
      last_schema_ = e.schema;
      field_index_ = e.schema ? e.schema->index_of(config_.value) : -1;
    }
    if (field_index_ < 0 || field_index_ >= e.nfields) {
      errors_->add();
      return;
    }
    v = e.f[static_cast<std::size_t>(field_index_)];
  }
  node_buf_.clear();
  node_.render(e, *keys_, node_buf_);
  std::string node = sanitize_id(node_buf_);
  std::string device;
  if (!config_.device.empty()) {
    device_buf_.clear();
    device_.render(e, *keys_, device_buf_);
    device = sanitize_id(device_buf_);
  }
  if (node.empty() || (!config_.device.empty() && device.empty())) {
    errors_->add();
    return;
  }
  const int64_t now_ms = unix_now_ns() / kNsPerMs;
  payload_.Clear();
  payload_.set_timestamp(static_cast<uint64_t>(now_ms));
  PbMetric* m = payload_.add_metrics();
  m->set_name(config_.metric);
  m->set_timestamp(static_cast<uint64_t>(now_ms));
  set_metric_number(*m, config_.datatype, v);
  buf_.clear();
  payload_.SerializeToString(&buf_);
  const std::string topic = make_topic(config_.group, device.empty() ? MessageType::kNCmd : MessageType::kDCmd, node, device);
  const int rc = client_->publish(topic, buf_, 0, false);
  if (rc == MOSQ_ERR_SUCCESS) published_->add();
  else if (rc == MOSQ_ERR_NO_CONN) dropped_->add();
  else errors_->add();
}

}  // namespace edgeloop::sparkplug
