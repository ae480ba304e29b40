#include "connectors/modbus/modbus_write.h"

#include "actions/action_metrics.h"

#include <spdlog/spdlog.h>

#include <limits>

#include "core/clock.h"

namespace edgeloop {

using modbus::Fail;
using modbus::IoStatus;

const OptionTable& modbus_write_options() {
  static const OptionTable table = [] {
    constexpr double kInf = std::numeric_limits<double>::infinity();
    OptionTable t;
    t.push_back({"host", OptionType::kString, "127.0.0.1", "Device address (IP or host name)."});
    t.push_back({"port", OptionType::kInt, "502", "Modbus TCP port.", false, 1, 65535});
    t.push_back({"unit", OptionType::kInt, "1", "Unit (slave) id.", false, 0, 255});
    t.push_back({"timeout", OptionType::kDuration, "1s", "Response timeout of a request (also bounds a connect).", false,
                 0.001, 60});
    t.push_back({"backoff_min", OptionType::kDuration, "100ms",
                 "First wait before reconnecting; doubles per failure up to backoff_max.", false, 0.001});
    t.push_back({"backoff_max", OptionType::kDuration, "10s", "Longest wait between connect attempts.", false, 0.001});
    t.push_back({"table", OptionType::kString, "holding", "What to write: a holding register (FC6, FC16 for "
                 "multi-register types) or a coil (FC5).", false, -kInf, kInf, {"holding", "coil"}});
    t.push_back({"address", OptionType::kInt, "", "0-based register or coil address.", true, 0, 65535});
    t.push_back({"value_type", OptionType::kString, "",
                 "Type of the register value (named apart from the action's `type`): int16, uint16 (default for holding), int32, uint32, float32, float64, bool (coil).", false,
                 -kInf, kInf, {"int16", "uint16", "int32", "uint32", "float32", "float64", "bool"}});
    t.push_back({"order", OptionType::kString, "ABCD", "Byte/word order as in source.modbus: ABCD, CDAB, BADC, DCBA, big, little.",
                 false, -kInf, kInf, {"ABCD", "CDAB", "BADC", "DCBA", "big", "little"}});
    t.push_back({"word_swap", OptionType::kBool, "false", "Swap the word order once more after `order`."});
    t.push_back({"scale", OptionType::kNumber, "1",
                 "The register holds (value - offset) / scale, rounded for integer types (the inverse of a point's "
                 "raw * scale + offset)."});
    t.push_back({"offset", OptionType::kNumber, "0", "See scale."});
    t.push_back({"value", OptionType::kString, "",
                 "The value to write, a template rendering a number: a constant (`1`) or an event field (`{mean}`); "
                 "placeholders as in action.mqtt_publish's payload. A rendering that is not a number, or does not "
                 "fit the type, is counted (edgeloop_action_errors_total) and dead-lettered.",
                 true});
    t.push_back({"readback", OptionType::kBool, "true",
                 "Read the register (coil) back after writing and compare; a mismatch is counted "
                 "(edgeloop_modbus_readback_mismatch_total), logged and dead-lettered."});
    t.push_back({"max_pending", OptionType::kInt, "1000",
                 "Writes that may wait for the writer thread (e.g. while the device is away); past it new ones are "
                 "dropped and counted (edgeloop_action_dropped_total).",
                 false, 1, 1'000'000});
    return t;
  }();
  return table;
}

Result<ModbusWriteConfig> modbus_write_config(const Options& o) {
  ModbusWriteConfig c;
  c.link.host = o.str("host");
  c.link.port = static_cast<int>(o.integer("port"));
  c.link.unit = static_cast<int>(o.integer("unit"));
  c.link.timeout_ns = o.duration_ns("timeout");
  c.backoff_min_ns = o.duration_ns("backoff_min");
  c.backoff_max_ns = o.duration_ns("backoff_max");
  if (c.backoff_max_ns < c.backoff_min_ns) return o.error("backoff_max", "backoff_max is shorter than backoff_min");
  auto table = modbus::parse_table(o.str("table"));
  if (!table.ok()) return o.error("table", table.error().message);
  c.table = *table;
  c.address = static_cast<uint16_t>(o.integer("address"));
  if (o.has("value_type")) {
    auto type = modbus::parse_type(o.str("value_type"));
    if (!type.ok()) return o.error("value_type", type.error().message);
    c.type = *type;
  } else {
    c.type = c.table == modbus::Table::kCoil ? modbus::Type::kBool : modbus::Type::kUint16;
  }
  if (c.table == modbus::Table::kCoil && c.type != modbus::Type::kBool) return o.error("value_type", "a coil is a bool");
  if (c.address + modbus::register_count(c.type) > 65536) return o.error("address", "the value runs past address 65535");
  auto order = modbus::parse_order(o.str("order"), o.flag("word_swap"));
  if (!order.ok()) return o.error("order", order.error().message);
  c.order = *order;
  c.scale = o.number("scale");
  if (c.scale == 0) return o.error("scale", "scale cannot be 0 (the written value is divided by it)");
  c.offset = o.number("offset");
  c.value = o.str("value");
  if (auto t = EventTemplate::compile(c.value); !t.ok()) return o.error("value", t.error().message);
  c.readback = o.flag("readback");
  c.max_pending = static_cast<std::size_t>(o.integer("max_pending"));
  return c;
}

ModbusWriteAction::ModbusWriteAction(ModbusWriteConfig config) : config_(std::move(config)), link_(config_.link) {}

ModbusWriteAction::~ModbusWriteAction() { stop(); }

Result<std::unique_ptr<ModbusWriteAction>> ModbusWriteAction::create(ModbusWriteConfig config) {
  if (config.table != modbus::Table::kHolding && config.table != modbus::Table::kCoil)
    return make_error(Errc::kInvalidArgument, "action.modbus_write writes holding registers or coils");
  if (config.scale == 0) return make_error(Errc::kInvalidArgument, "scale cannot be 0");
  if (config.max_pending == 0) return make_error(Errc::kInvalidArgument, "max_pending must be at least 1");
  auto value = EventTemplate::compile(config.value, EventTemplate::Escape::kNone);
  if (!value.ok()) return value.take_error();
  std::unique_ptr<ModbusWriteAction> a(new ModbusWriteAction(std::move(config)));
  a->value_ = std::move(value).value();
  return a;
}

Result<std::unique_ptr<ModbusWriteAction>> ModbusWriteAction::from_options(const Options& options) {
  EDGELOOP_ASSIGN_OR_RETURN(ModbusWriteConfig config, modbus_write_config(options));
  return create(std::move(config));
}

Status ModbusWriteAction::start(ActionContext& ctx) {
  if (started_) return make_error(Errc::kInternal, "action " + ctx.name + ": started twice");
  if (!ctx.keys) return make_error(Errc::kInvalidArgument, "action " + ctx.name + ": no key table");
  name_ = ctx.name;
  keys_ = ctx.keys;
  am_ = make_publish_action_metrics(ctx, own_metrics_);
  Metrics& m = *am_.metrics;
  const Metrics::Labels labels = {{"action", name_}};
  verified_ = &m.counter("edgeloop_modbus_readback_ok_total", "Modbus writes whose read-back matched.", labels);
  mismatches_ = &m.counter("edgeloop_modbus_readback_mismatch_total",
                           "Modbus writes whose read-back differed from what was written.", labels);
  written_latency_ = &m.histogram("edgeloop_modbus_write_latency_seconds",
                                  "From the reading's receive to the device's answer: stage written (write "
                                  "acknowledged) or verified (read-back matched).",
                                  {{"action", name_}, {"stage", "written"}});
  verified_latency_ = &m.histogram("edgeloop_modbus_write_latency_seconds",
                                   "From the reading's receive to the device's answer: stage written (write "
                                   "acknowledged) or verified (read-back matched).",
                                   {{"action", name_}, {"stage", "verified"}});
  value_.set_unknown_counter(am_.errors);
  value_buf_.reserve(64);
  failures_.reset(name_,
                  "modbus://" + config_.link.host + ":" + std::to_string(config_.link.port) + "/" +
                      std::to_string(config_.link.unit) + "/" + modbus::table_name(config_.table) + "/" +
                      std::to_string(config_.address),
                  am_.errors, ctx.dead_letters);
  queue_.reset(config_.max_pending, am_.dropped);
  started_ = true;
  thread_ = std::thread([this] { run(); });
  return Status::Ok();
}

void ModbusWriteAction::stop() {
  if (!started_) return;
  const std::size_t left = queue_.stop();
  if (thread_.joinable()) thread_.join();
  link_.close();
  if (am_.up) am_.up->set(0);
  if (left > 0) spdlog::warn("action {}: stopped with {} write(s) not done", name_, left);
  started_ = false;
}

void ModbusWriteAction::set_health(Health h) {
  health_ = h;
  am_.up->set(h == Health::kConnected ? 1 : 0);
}

void ModbusWriteAction::on_event(const Event& e) {
  am_.events->add();
  value_buf_.clear();
  value_.render(e, *keys_, value_buf_);
  Job job;
  job.recv_ns = e.recv_ns;
  auto v = parse_number(value_buf_);
  Status st = v.ok() ? Status::Ok() : Status(v.error());
  if (st.ok()) {
    job.value = *v;
    st = modbus::encode((*v - config_.offset) / config_.scale, config_.type, config_.order, job.words);
  }
  if (!st.ok()) {
    // Rare and not I/O: dead-lettering here is a bounded, non-blocking hand-off.
    failures_.report("bad_value", "value '" + value_buf_ + "': " + st.error().message,
                     "modbus://" + config_.link.host + ":" + std::to_string(config_.link.port));
    return;
  }
  queue_.push(job);
}

bool ModbusWriteAction::perform(Job& job) {
  const int n = modbus::register_count(config_.type);
  const bool coil = config_.table == modbus::Table::kCoil;
  IoStatus s = coil ? link_.write_coil(config_.address, job.words[0] != 0)
                    : link_.write_registers(config_.address, job.words, n);
  const std::string what = std::string("write ") + modbus::table_name(config_.table) + " " + std::to_string(config_.address) +
                           " = " + std::to_string(job.value);
  if (!s.ok()) {
    if (s.fail == Fail::kConnection && ++job.attempts < 3) return false;
    if (s.fail == Fail::kTimeout || s.fail == Fail::kBadResponse) link_.flush();
    failures_.report(s.reason(), what + ": " + s.message);
    if (s.fail == Fail::kConnection) link_.close();
    return true;
  }
  am_.published->add();
  if (job.recv_ns > 0) written_latency_->record_ns(unix_now_ns() - job.recv_ns);
  if (!config_.readback) return true;
  uint16_t back[4] = {};
  s = link_.read(config_.table, config_.address, static_cast<uint16_t>(coil ? 1 : n), back);
  if (!s.ok()) {
    if (s.fail == Fail::kTimeout || s.fail == Fail::kBadResponse) link_.flush();
    if (s.fail == Fail::kConnection) link_.close();
    failures_.report("readback_" + s.reason(), what + ": read-back failed: " + s.message);
    return true;
  }
  bool same = true;
  if (coil) {
    same = (back[0] != 0) == (job.words[0] != 0);
  } else {
    for (int i = 0; i < n; ++i) same = same && back[i] == job.words[i];
  }
  if (!same) {
    mismatches_->add();
    const double got = modbus::decode(back, config_.type, config_.order) * config_.scale + config_.offset;
    failures_.report("readback_mismatch", what + ": read back " + std::to_string(got));
    return true;
  }
  verified_->add();
  if (job.recv_ns > 0) verified_latency_->record_ns(unix_now_ns() - job.recv_ns);
  return true;
}

void ModbusWriteAction::run() {
  int64_t backoff = config_.backoff_min_ns;
  while (true) {
    std::optional<Job> job = queue_.wait_front(std::chrono::hours(1));
    if (!job) {
      if (queue_.stopping()) return;
      continue;
    }
    if (!link_.connected()) {
      const IoStatus s = link_.connect();
      if (!s.ok()) {
        set_health(Health::kDown);
        failures_.warn("connect to " + link_.where() + ": " + s.message);
        if (!queue_.sleep_for(std::chrono::nanoseconds(backoff))) return;
        backoff = std::min(backoff * 2, config_.backoff_max_ns);
        continue;
      }
      backoff = config_.backoff_min_ns;
      set_health(Health::kConnected);
    }
    if (perform(*job)) {
      queue_.pop_front();
      if (!link_.connected()) set_health(Health::kDown);
    } else {
      queue_.replace_front(*job);  // kept in front: retried after the reconnect
      link_.close();
      set_health(Health::kDown);
    }
  }
}

}  // namespace edgeloop
