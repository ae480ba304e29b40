#include "connectors/opcua/opcua_write.h"

#include "actions/action_metrics.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <limits>

#include "connectors/opcua/opcua_source.h"
#include "core/clock.h"
#include "core/options.h"

namespace edgeloop {

using opcua::NodeId;
using opcua::Variant;
using opcua::VariantType;

namespace opcua {

namespace {
struct TypeName {
  const char* name;
  VariantType type;
};
constexpr TypeName kTypeNames[] = {
    {"Boolean", VariantType::kBoolean}, {"SByte", VariantType::kSByte},   {"Byte", VariantType::kByte},
    {"Int16", VariantType::kInt16},     {"UInt16", VariantType::kUInt16}, {"Int32", VariantType::kInt32},
    {"UInt32", VariantType::kUInt32},   {"Int64", VariantType::kInt64},   {"UInt64", VariantType::kUInt64},
    {"Float", VariantType::kFloat},     {"Double", VariantType::kDouble}, {"String", VariantType::kString},
    {"ByteString", VariantType::kByteString},
};
}  // namespace

Result<VariantType> variant_type_for(const NodeId& data_type) {
  if (data_type.ns == 0 && data_type.kind == NodeId::Kind::kNumeric) {
    const uint32_t id = data_type.numeric;
    // Built-in types that carry a plain value (DateTime, Guid, NodeId... are not written from text).
    if ((id >= 1 && id <= 12) || id == 15) return static_cast<VariantType>(id);
    switch (id) {
      case 29: return VariantType::kInt32;    // Enumeration (and its subtypes read as i=29 here)
      case 288: return VariantType::kUInt32;  // IntegerId
      case 289: return VariantType::kUInt32;  // Counter
      case 290: return VariantType::kDouble;  // Duration
      case 291: return VariantType::kString;  // NumericRange
      case 295: return VariantType::kString;  // LocaleId
      default: break;
    }
  }
  return make_error(Errc::kTypeMismatch, "DataType " + data_type.to_string() +
                                             " is not a scalar built-in type this action can write (set data_type)");
}

Result<Variant> variant_from_text(VariantType t, std::string_view text) {
  if (t == VariantType::kString || t == VariantType::kByteString) {
    Variant v;
    v.type = t;
    v.text = std::string(text);
    return v;
  }
  if (t == VariantType::kBoolean && (text == "true" || text == "false")) {
    Variant v;
    v.type = t;
    v.i = text == "true" ? 1 : 0;
    return v;
  }
  auto n = parse_number(text);
  if (!n.ok()) return make_error(Errc::kTypeMismatch, "'" + std::string(text) + "' is not a number");
  if (std::isnan(*n)) return make_error(Errc::kTypeMismatch, "NaN cannot be written");
  EDGELOOP_ASSIGN_OR_RETURN(Variant v, Variant::from_number(t, *n));
  if (t == VariantType::kFloat) {
    if (std::isfinite(*n) && std::fabs(*n) > std::numeric_limits<float>::max()) {
      return make_error(Errc::kTypeMismatch, std::string(text) + " does not fit Float");
    }
    v.d = static_cast<double>(static_cast<float>(*n));  // what the server will hold
  }
  return v;
}

bool same_value(const Variant& written, const Variant& read) {
  if (written.is_array || read.is_array) return false;
  if (written.type == VariantType::kString || written.type == VariantType::kByteString) {
    return read.type == written.type && read.text == written.text;
  }
  double a = 0;
  double b = 0;
  return written.as_number(a) && read.as_number(b) && a == b;
}

}  // namespace opcua

namespace {
Result<VariantType> parse_type_name(std::string_view name) {
  for (const auto& t : opcua::kTypeNames)
    if (name == t.name) return t.type;
  return make_error(Errc::kInvalidArgument, "unknown data_type '" + std::string(name) + "'");
}
}  // namespace

const OptionTable& opcua_write_options() {
  static const OptionTable table = [] {
    constexpr double kInf = std::numeric_limits<double>::infinity();
    OptionTable t;
    add_opcua_connect_options(t);
    t.push_back({"node", OptionType::kString, "", "NodeId of the variable to write, e.g. `ns=1;s=Setpoint` (forms i=, s=, "
                 "g=, b=). Its Value attribute is written.", true});
    t.push_back({"value", OptionType::kString, "",
                 "The value to write, a template: a constant (`1`, `true`, `auto`) or an event field (`{mean}`); "
                 "placeholders as in action.mqtt_publish's payload. The rendering is converted to the node's type: "
                 "String and ByteString take the text, Boolean true/false or a number (non-zero is true), numeric "
                 "types a number that fits (integers must be whole). One that does not convert is counted "
                 "(edgeloop_action_errors_total) and dead-lettered.",
                 true});
    t.push_back({"data_type", OptionType::kString, "",
                 "The Variant type to write. Empty: the node's DataType attribute, read once after connecting and "
                 "cached (DataTypes that are not scalar built-in types, such as structures, need this set).",
                 false, -kInf, kInf,
                 {"", "Boolean", "SByte", "Byte", "Int16", "UInt16", "Int32", "UInt32", "Int64", "UInt64", "Float",
                  "Double", "String", "ByteString"}});
    t.push_back({"readback", OptionType::kBool, "false",
                 "Read the Value back after each good write and compare; a difference is counted "
                 "(edgeloop_opcua_readback_mismatch_total), logged and dead-lettered."});
    t.push_back({"max_pending", OptionType::kInt, "1000",
                 "Writes that may wait for the writer thread (e.g. while the server is away); past it new ones are "
                 "dropped and counted (edgeloop_action_dropped_total).",
                 false, 1, 1'000'000});
    t.push_back({"reconnect_min", OptionType::kDuration, "100ms", "First reconnect delay; doubles per failure.", false,
                 0.001, 3600});
    t.push_back({"reconnect_max", OptionType::kDuration, "10s", "Largest reconnect delay.", false, 0.001, 3600});
    return t;
  }();
  return table;
}

Result<OpcuaWriteConfig> opcua_write_config(const Options& o) {
  OpcuaWriteConfig c;
  EDGELOOP_ASSIGN_OR_RETURN(c.client, opcua_connect_config(o));
  auto node = NodeId::parse(o.str("node"));
  if (!node.ok()) return o.error("node", node.error().message);
  c.node = std::move(node).value();
  c.value = o.str("value");
  if (auto t = EventTemplate::compile(c.value); !t.ok()) return o.error("value", t.error().message);
  if (o.has("data_type") && !o.str("data_type").empty()) {
    auto t = parse_type_name(o.str("data_type"));
    if (!t.ok()) return o.error("data_type", t.error().message);
    c.data_type = *t;
  }
  c.readback = o.flag("readback");
  c.max_pending = static_cast<std::size_t>(o.integer("max_pending"));
  c.reconnect_min_ms = o.duration_ns("reconnect_min") / 1000000;
  c.reconnect_max_ms = o.duration_ns("reconnect_max") / 1000000;
  if (c.reconnect_min_ms < 1) c.reconnect_min_ms = 1;
  if (c.reconnect_max_ms < c.reconnect_min_ms) return o.error("reconnect_max", "reconnect_max is shorter than reconnect_min");
  return c;
}

OpcuaWriteAction::OpcuaWriteAction(OpcuaWriteConfig config) : config_(std::move(config)) {}

OpcuaWriteAction::~OpcuaWriteAction() { stop(); }

Result<std::unique_ptr<OpcuaWriteAction>> OpcuaWriteAction::create(OpcuaWriteConfig config) {
  if (config.max_pending == 0) return make_error(Errc::kInvalidArgument, "max_pending must be at least 1");
  if (config.node.is_null()) return make_error(Errc::kInvalidArgument, "action.opcua_write needs a node");
  if (auto e = opcua::EndpointUrl::parse(config.client.endpoint); !e.ok()) return e.take_error();
  auto value = EventTemplate::compile(config.value, EventTemplate::Escape::kNone);
  if (!value.ok()) return value.take_error();
  std::unique_ptr<OpcuaWriteAction> a(new OpcuaWriteAction(std::move(config)));
  a->value_ = std::move(value).value();
  if (a->config_.data_type != VariantType::kNull) a->type_ = a->config_.data_type;
  return a;
}

Result<std::unique_ptr<OpcuaWriteAction>> OpcuaWriteAction::from_options(const Options& options) {
  EDGELOOP_ASSIGN_OR_RETURN(OpcuaWriteConfig config, opcua_write_config(options));
  return create(std::move(config));
}

Status OpcuaWriteAction::start(ActionContext& ctx) {
  if (started_) return make_error(Errc::kInternal, "action " + ctx.name + ": started twice");
  if (!ctx.keys) return make_error(Errc::kInvalidArgument, "action " + ctx.name + ": no key table");
  name_ = ctx.name;
  keys_ = ctx.keys;
  am_ = make_publish_action_metrics(ctx, own_metrics_);
  const Metrics::Labels labels = {{"action", name_}};
  verified_ = &am_.metrics->counter("edgeloop_opcua_readback_ok_total", "OPC UA writes whose read-back matched.", labels);
  mismatches_ = &am_.metrics->counter("edgeloop_opcua_readback_mismatch_total",
                            "OPC UA writes whose read-back differed from what was written.", labels);
  reconnects_ = &am_.metrics->counter("edgeloop_opcua_write_connects_total",
                            "Sessions action.opcua_write opened (the first and every reconnect).", labels);
  latency_ = &am_.metrics->histogram("edgeloop_opcua_write_latency_seconds",
                           "From the reading's receive to the server's good Write response.", labels);
  value_.set_unknown_counter(am_.errors);
  value_buf_.reserve(64);
  failures_.reset(name_, config_.client.endpoint + "#" + config_.node.to_string(), am_.errors, ctx.dead_letters);
  queue_.reset(config_.max_pending, am_.dropped);
  stop_flag_ = false;
  started_ = true;
  thread_ = std::thread([this] { run(); });
  return Status::Ok();
}

void OpcuaWriteAction::stop() {
  if (!started_) return;
  stop_flag_ = true;
  const std::size_t left = queue_.stop();
  if (thread_.joinable()) thread_.join();
  set_health(Health::kDown);
  if (left > 0) spdlog::warn("action {}: stopped with {} write(s) not done", name_, left);
  started_ = false;
}

void OpcuaWriteAction::set_health(Health h) {
  health_ = h;
  if (am_.up) am_.up->set(h == Health::kConnected ? 1 : 0);
}

void OpcuaWriteAction::on_event(const Event& e) {
  am_.events->add();
  value_buf_.clear();
  value_.render(e, *keys_, value_buf_);
  queue_.push(Job{value_buf_, e.recv_ns, 0});
}

OpcuaWriteAction::Outcome OpcuaWriteAction::perform(opcua::UaClient& client, Job& job) {
  const std::string what = "write " + config_.node.to_string() + " = '" + job.text + "'";
  // Connection-level failures (timeouts, a broken connection, a ServiceFault such as an expired
  // session) are retried on a new session, up to 3 attempts per job.
  auto retry = [&](const char* reason, const std::string& message) {
    if (++job.attempts < 3) return Outcome::kRetry;
    failures_.report(reason, what + ": " + message);
    return Outcome::kDoneReconnect;
  };
  if (!type_) {
    auto dt = client.read({config_.node}, opcua::kAttrDataType);
    if (!dt.ok()) return retry("datatype_read_failed", dt.error().message);
    const opcua::DataValue& v = (*dt)[0];
    if (opcua::status_is_bad(v.status) || v.value.type != VariantType::kNodeId) {
      failures_.report("datatype_unavailable", what + ": DataType of the node: " +
                                       (opcua::status_is_bad(v.status) ? opcua::status_name(v.status) : "not a NodeId"));
      return Outcome::kDone;
    }
    auto node_id = NodeId::parse(v.value.text);
    if (!node_id.ok()) {
      failures_.report("unsupported_datatype", what + ": " + node_id.error().message);
      return Outcome::kDone;
    }
    auto t = opcua::variant_type_for(*node_id);
    if (!t.ok()) {
      failures_.report("unsupported_datatype", what + ": " + t.error().message);
      return Outcome::kDone;
    }
    type_ = *t;
  }
  auto value = opcua::variant_from_text(*type_, job.text);
  if (!value.ok()) {
    failures_.report("bad_value", what + ": " + value.error().message);
    return Outcome::kDone;
  }
  auto st = client.write({{config_.node, *value}});
  if (!st.ok()) return retry("write_failed", st.error().message);
  const uint32_t code = (*st)[0];
  if (opcua::status_is_bad(code)) {
    failures_.report("write_" + opcua::status_name(code), what + ": " + opcua::status_name(code));
    return Outcome::kDone;
  }
  am_.published->add();
  if (job.recv_ns > 0) latency_->record_ns(unix_now_ns() - job.recv_ns);
  if (!config_.readback) return Outcome::kDone;
  auto back = client.read({config_.node});
  if (!back.ok()) {
    failures_.report("readback_failed", what + ": read-back: " + back.error().message);
    return Outcome::kDoneReconnect;  // the write itself went through: not repeated
  }
  const opcua::DataValue& dv = (*back)[0];
  if (opcua::status_is_bad(dv.status) || !opcua::same_value(*value, dv.value)) {
    mismatches_->add();
    failures_.report("readback_mismatch", what + ": read back " +
                                  (opcua::status_is_bad(dv.status) ? opcua::status_name(dv.status) : dv.value.to_string()));
    return Outcome::kDone;
  }
  verified_->add();
  return Outcome::kDone;
}

void OpcuaWriteAction::run() {
  opcua::UaClient client(config_.client);
  client.set_stop_flag(&stop_flag_);
  int64_t backoff = config_.reconnect_min_ms;
  auto last_request = std::chrono::steady_clock::now();
  while (true) {
    if (!client.connected()) {
      const Status st = client.connect();
      if (!st.ok()) {
        set_health(Health::kDown);
        failures_.warn("connect to " + config_.client.endpoint + ": " + st.error().message, 100);
        if (!queue_.sleep_for(std::chrono::milliseconds(backoff))) break;
        backoff = std::min(backoff * 2, config_.reconnect_max_ms);
        continue;
      }
      backoff = config_.reconnect_min_ms;
      ++connects_;
      reconnects_->add();
      set_health(Health::kConnected);
      last_request = std::chrono::steady_clock::now();
    }
    // Wake at least once a second to renew the channel token and keep the session alive.
    std::optional<Job> next = queue_.wait_front(std::chrono::seconds(1));
    if (!next && queue_.stopping()) break;
    const bool have = next.has_value();
    Job job = have ? *next : Job{};
    if (Status st = client.maintain(); !st.ok()) {
      spdlog::warn("action {}: renewing the secure channel: {}", name_, st.error().message);
      client.close();
      continue;
    }
    const auto now = std::chrono::steady_clock::now();
    if (!have) {
      if (now - last_request >= std::chrono::milliseconds(config_.keepalive_ms)) {
        // Server_ServerStatus_State (i=2259): any request resets the session's timeout.
        last_request = now;
        if (!client.read({NodeId::num(2259)}).ok()) client.close();
      }
      continue;
    }
    last_request = now;
    const Outcome outcome = perform(client, job);
    if (outcome == Outcome::kRetry) {
      queue_.replace_front(job);  // kept in front: retried after the reconnect
    } else {
      queue_.pop_front();
    }
    if (outcome != Outcome::kDone) client.close();
  }
  client.close();
}

}  // namespace edgeloop
