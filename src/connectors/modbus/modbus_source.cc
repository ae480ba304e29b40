#include "connectors/modbus/modbus_source.h"

#include <spdlog/spdlog.h>

#include <cmath>
#include <limits>
#include <map>

#include "core/clock.h"

namespace edgeloop {

using modbus::Batch;
using modbus::Fail;
using modbus::IoStatus;
using modbus::Point;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Device settings: on the source (defaults for every device) and on each device (overrides).
void add_device_settings(OptionTable& t, bool with_defaults) {
  auto d = [&](const char* v) { return with_defaults ? std::string(v) : std::string(); };
  t.push_back({"host", OptionType::kString, d("127.0.0.1"), "Device address (IP or host name)."});
  t.push_back({"port", OptionType::kInt, d("502"), "Modbus TCP port.", false, 1, 65535});
  t.push_back({"unit", OptionType::kInt, d("1"), "Unit (slave) id sent in each request.", false, 0, 255});
  t.push_back({"interval", OptionType::kDuration, d("1s"),
               "Poll period: one poll (all points, one record) every interval; `0` polls back to back.", false, 0});
  t.push_back({"timeout", OptionType::kDuration, d("1s"),
               "Response timeout of a request (also bounds a connect attempt).", false, 0.001, 60});
  t.push_back({"backoff_min", OptionType::kDuration, d("100ms"),
               "First wait before reconnecting after a failed connect; doubles per failure up to backoff_max.", false,
               0.001});
  t.push_back({"backoff_max", OptionType::kDuration, d("10s"), "Longest wait between connect attempts.", false, 0.001});
  t.push_back({"max_timeouts", OptionType::kInt, d("3"),
               "Consecutive request timeouts after which the connection is dropped and made again.", false, 1, 1000});
  t.push_back({"max_gap", OptionType::kInt, d("0"),
               "Unused registers (or bits) one request may read to join two points of a table; 0 joins only "
               "adjacent or overlapping points (safe with devices that refuse reads of unmapped addresses).",
               false, 0, 2000});
  t.push_back({"max_registers", OptionType::kInt, d("125"),
               "Most registers per read request (the protocol's limit is 125; some devices accept fewer).", false, 1,
               125});
  t.push_back({"max_bits", OptionType::kInt, d("2000"), "Most coils/discrete inputs per read request (protocol: 2000).",
               false, 1, 2000});
  t.push_back({"order", OptionType::kString, d("ABCD"),
               "Default byte/word order of multi-register values: ABCD (big endian, high word first), CDAB (word "
               "swap), BADC (byte swap), DCBA (little endian), or big (ABCD) / little (DCBA).",
               false, -kInf, kInf, {"ABCD", "CDAB", "BADC", "DCBA", "big", "little"}});
  t.push_back({"word_swap", OptionType::kBool, d("false"), "Swap the word order once more after `order` (big + word_swap = CDAB)."});
}

const OptionTable& device_options() {
  static const OptionTable table = [] {
    OptionTable t;
    t.push_back({"name", OptionType::kString, "", "Device name: the key of its records.", true});
    add_device_settings(t, false);
    t.push_back({"points", OptionType::kAny, "", "The device's points (see source.modbus).", true});
    return t;
  }();
  return table;
}

const OptionTable& point_options() {
  static const OptionTable table = [] {
    OptionTable t;
    t.push_back({"name", OptionType::kString, "", "Field name of the value.", true});
    t.push_back({"table", OptionType::kString, "holding", "holding, input, coil or discrete.", false, -kInf, kInf,
                 {"holding", "input", "coil", "discrete"}});
    t.push_back({"address", OptionType::kInt, "", "0-based register or bit address.", true, 0, 65535});
    t.push_back({"type", OptionType::kString, "", "int16, uint16 (register default), int32, uint32, float32, float64, bool (bit default).",
                 false, -kInf, kInf, {"int16", "uint16", "int32", "uint32", "float32", "float64", "bool"}});
    t.push_back({"order", OptionType::kString, "", "Byte/word order (default: the device's).", false, -kInf, kInf,
                 {"ABCD", "CDAB", "BADC", "DCBA", "big", "little"}});
    t.push_back({"word_swap", OptionType::kBool, "", "Swap words after `order` (default: the device's)."});
    t.push_back({"scale", OptionType::kNumber, "1", "The field is raw * scale + offset."});
    t.push_back({"offset", OptionType::kNumber, "0", "Added after scale."});
    return t;
  }();
  return table;
}

// A device setting: the device's own value, else the source's.
const Options& pick(const Options& dev, const Options& top, const char* name) { return dev.has(name) ? dev : top; }

}  // namespace

const OptionTable& modbus_source_options() {
  static const OptionTable table = [] {
    OptionTable t;
    t.push_back({"devices", OptionType::kAny, "",
                 "The devices to poll: a list of maps, each with `name` (the record key), optionally any device "
                 "setting below (host, port, unit, interval, timeout, backoff_min, backoff_max, max_timeouts, "
                 "max_gap, max_registers, max_bits, order, word_swap: overrides the source's value), and `points`: "
                 "a list of maps `{name, table: holding|input|coil|discrete (holding), address (0-based), type: "
                 "int16|uint16|int32|uint32|float32|float64|bool (uint16; bool on coil/discrete), order, word_swap "
                 "(the device's), scale (1), offset (0)}`; the field is raw * scale + offset. Points of one table "
                 "are read together when adjacent (see max_gap).",
                 true});
    add_device_settings(t, true);
    return t;
  }();
  return table;
}

Result<ModbusSourceConfig> modbus_source_config(const Options& top) {
  ModbusSourceConfig c;
  const ConfigNode* devices = top.node("devices");
  if (!devices || !devices->is_sequence() || devices->items().empty())
    return top.error("devices", "a list of at least one device (a map with name and points) is needed");
  std::map<std::string, int> field_index;
  std::map<std::string, bool> device_names;
  for (std::size_t i = 0; i < devices->items().size(); ++i) {
    const ConfigNode& dn = devices->items()[i];
    const std::string dpath = top.path() + ".devices[" + std::to_string(i) + "]";
    if (!dn.is_map()) return make_error(Errc::kInvalidConfig, config_error_text(dn.mark(), dpath, "a device is a map"));
    EDGELOOP_ASSIGN_OR_RETURN(Options dev, Options::parse(device_options(), dn, dpath));
    ModbusDeviceConfig d;
    d.name = dev.str("name");
    if (d.name.empty()) return dev.error("name", "the device name cannot be empty");
    if (device_names[d.name]) return dev.error("name", "device '" + d.name + "' is named twice");
    device_names[d.name] = true;
    d.link.host = pick(dev, top, "host").str("host");
    d.link.port = static_cast<int>(pick(dev, top, "port").integer("port"));
    d.link.unit = static_cast<int>(pick(dev, top, "unit").integer("unit"));
    d.link.timeout_ns = pick(dev, top, "timeout").duration_ns("timeout");
    d.interval_ns = pick(dev, top, "interval").duration_ns("interval");
    d.backoff_min_ns = pick(dev, top, "backoff_min").duration_ns("backoff_min");
    d.backoff_max_ns = pick(dev, top, "backoff_max").duration_ns("backoff_max");
    if (d.backoff_max_ns < d.backoff_min_ns) return dev.error("backoff_max", "backoff_max is shorter than backoff_min");
    d.max_timeouts = static_cast<int>(pick(dev, top, "max_timeouts").integer("max_timeouts"));
    d.limits.max_gap = static_cast<int>(pick(dev, top, "max_gap").integer("max_gap"));
    d.limits.max_registers = static_cast<int>(pick(dev, top, "max_registers").integer("max_registers"));
    d.limits.max_bits = static_cast<int>(pick(dev, top, "max_bits").integer("max_bits"));
    const std::string dev_order = pick(dev, top, "order").str("order");
    const bool dev_swap = pick(dev, top, "word_swap").flag("word_swap");

    const ConfigNode* points = dev.node("points");
    if (!points || !points->is_sequence() || points->items().empty())
      return dev.error("points", "a list of at least one point (a map with name and address) is needed");
    std::map<std::string, bool> point_names;
    for (std::size_t j = 0; j < points->items().size(); ++j) {
      const ConfigNode& pn = points->items()[j];
      const std::string ppath = dpath + ".points[" + std::to_string(j) + "]";
      if (!pn.is_map()) return make_error(Errc::kInvalidConfig, config_error_text(pn.mark(), ppath, "a point is a map"));
      EDGELOOP_ASSIGN_OR_RETURN(Options po, Options::parse(point_options(), pn, ppath));
      Point p;
      p.name = po.str("name");
      if (p.name.empty()) return po.error("name", "the point name cannot be empty");
      if (point_names[p.name]) return po.error("name", "point '" + p.name + "' is named twice in device '" + d.name + "'");
      point_names[p.name] = true;
      auto table = modbus::parse_table(po.str("table"));
      if (!table.ok()) return po.error("table", table.error().message);
      p.table = *table;
      const bool bits = modbus::is_bit_table(p.table);
      if (po.has("type")) {
        auto type = modbus::parse_type(po.str("type"));
        if (!type.ok()) return po.error("type", type.error().message);
        p.type = *type;
      } else {
        p.type = bits ? modbus::Type::kBool : modbus::Type::kUint16;
      }
      if (bits && p.type != modbus::Type::kBool)
        return po.error("type", std::string("a ") + modbus::table_name(p.table) + " point is a bool");
      p.address = static_cast<uint16_t>(po.integer("address"));
      if (p.address + p.count() > 65536) return po.error("address", "the value runs past address 65535");
      auto order = modbus::parse_order(po.has("order") ? po.str("order") : dev_order,
                                       po.has("word_swap") ? po.flag("word_swap") : dev_swap);
      if (!order.ok()) return po.error("order", order.error().message);
      p.order = *order;
      p.scale = po.number("scale");
      p.offset = po.number("offset");
      auto [it, added] = field_index.emplace(p.name, static_cast<int>(c.fields.size()));
      if (added) {
        if (c.fields.size() >= kMaxFields)
          return po.error("name", "more than " + std::to_string(kMaxFields) + " distinct point names in one source");
        c.fields.push_back(p.name);
      }
      p.field = it->second;
      d.points.push_back(std::move(p));
    }
    c.devices.push_back(std::move(d));
  }
  return c;
}

struct ModbusSource::Device {
  explicit Device(const ModbusDeviceConfig& c) : config(c), link(c.link) {}
  const ModbusDeviceConfig& config;
  std::vector<Batch> batches;
  modbus::Link link;
  std::thread thread;
  std::atomic<Health> health{Health::kConnecting};
  KeyId key = kNoKey;
  std::string topic;  // "modbus://host:port/unit": the dead letters' topic
  uint16_t words[modbus::kMaxReadBits] = {};
  int timeouts_in_a_row = 0;
  uint64_t error_logs = 0;
  bool polled_since_connect = false;
  Counter* polls = nullptr;
  Counter* records = nullptr;
  Counter* requests = nullptr;
  Counter* registers = nullptr;
  Counter* connects = nullptr;
  Gauge* up = nullptr;
  Gauge* state = nullptr;
};

ModbusSource::ModbusSource(ModbusSourceConfig config) : config_(std::move(config)), schema_(config_.fields) {
  for (const auto& dc : config_.devices) {
    auto d = std::make_unique<Device>(dc);
    d->batches = modbus::plan_batches(dc.points, dc.limits);
    d->topic = "modbus://" + dc.link.host + ":" + std::to_string(dc.link.port) + "/" + std::to_string(dc.link.unit);
    devices_.push_back(std::move(d));
  }
}

ModbusSource::~ModbusSource() { stop(); }

Result<std::unique_ptr<ModbusSource>> ModbusSource::create(ModbusSourceConfig config) {
  if (config.devices.empty()) return make_error(Errc::kInvalidArgument, "source.modbus needs at least one device");
  for (const auto& d : config.devices) {
    if (d.points.empty()) return make_error(Errc::kInvalidArgument, "device '" + d.name + "' has no points");
    for (const auto& p : d.points)
      if (p.field < 0 || static_cast<std::size_t>(p.field) >= config.fields.size())
        return make_error(Errc::kInvalidArgument, "point '" + p.name + "' has no field");
  }
  if (config.fields.size() > kMaxFields) return make_error(Errc::kTooLarge, "more than 16 fields");
  return std::unique_ptr<ModbusSource>(new ModbusSource(std::move(config)));
}

Result<std::unique_ptr<ModbusSource>> ModbusSource::from_options(const Options& options) {
  EDGELOOP_ASSIGN_OR_RETURN(ModbusSourceConfig config, modbus_source_config(options));
  return create(std::move(config));
}

const std::vector<Batch>& ModbusSource::batches(std::size_t device) const { return devices_.at(device)->batches; }

Health ModbusSource::device_health(std::size_t i) const { return devices_.at(i)->health.load(); }

Health ModbusSource::health() const {
  int connected = 0, down = 0, connecting = 0;
  for (const auto& d : devices_) {
    switch (d->health.load()) {
      case Health::kConnected: ++connected; break;
      case Health::kDown: ++down; break;
      case Health::kConnecting: ++connecting; break;
      case Health::kDegraded: break;
    }
  }
  const int n = static_cast<int>(devices_.size());
  if (connected == n) return Health::kConnected;
  if (down == n) return Health::kDown;
  if (connecting == n) return Health::kConnecting;
  return Health::kDegraded;
}

Status ModbusSource::start(SourceContext& ctx) {
  if (started_) return make_error(Errc::kInternal, "source " + ctx.name + ": started twice");
  if (!ctx.output || !ctx.keys) return make_error(Errc::kInvalidArgument, "source " + ctx.name + ": no output or key table");
  name_ = ctx.name;
  index_ = ctx.index;
  output_ = ctx.output;
  dead_letters_ = ctx.dead_letters;
  metrics_ = ctx.metrics;
  if (!metrics_) {
    own_metrics_ = std::make_unique<Metrics>();
    metrics_ = own_metrics_.get();
  }
  for (auto& d : devices_) {
    auto id = ctx.keys->intern(d->config.name, d->topic, index_);
    if (!id.ok()) return make_error(id.error().code, "source " + name_ + ": " + id.error().message);
    d->key = *id;
    const Metrics::Labels labels = {{"source", name_}, {"device", d->config.name}};
    d->polls = &metrics_->counter("edgeloop_source_messages_total", "Messages a source received.", {{"source", name_}});
    d->records = &metrics_->counter("edgeloop_source_records_total", "Records a source decoded and passed on.",
                                    {{"source", name_}});
    d->requests = &metrics_->counter("edgeloop_modbus_requests_total", "Modbus read requests answered with data.", labels);
    d->registers = &metrics_->counter("edgeloop_modbus_registers_total", "Registers and bits read from a Modbus device.", labels);
    d->connects = &metrics_->counter("edgeloop_modbus_connects_total", "Connections made to a Modbus device.", labels);
    d->state = &metrics_->gauge("edgeloop_modbus_device_health",
                                "Health of a polled Modbus device: 0 connecting, 1 connected, 2 degraded, 3 down.", labels);
    d->up = &metrics_->gauge("edgeloop_connector_up", "1 while the connector is connected to its peer, else 0.",
                             {{"connector", name_ + "/" + d->config.name}});
  }
  stopping_ = false;
  started_ = true;
  for (auto& d : devices_) {
    Device* dev = d.get();
    dev->thread = std::thread([this, dev] { run(*dev); });
  }
  return Status::Ok();
}

void ModbusSource::stop() {
  if (!started_) return;
  {
    std::lock_guard lock(stop_mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  for (auto& d : devices_) {
    if (d->thread.joinable()) d->thread.join();
    d->link.close();
    if (d->up) d->up->set(0);
  }
  started_ = false;
}

bool ModbusSource::sleep_until(int64_t until_ns) {
  std::unique_lock lock(stop_mu_);
  while (!stopping_.load()) {
    const int64_t left = until_ns - mono_now_ns();
    if (left <= 0) return true;
    stop_cv_.wait_for(lock, std::chrono::nanoseconds(left));
  }
  return false;
}

void ModbusSource::set_health(Device& d, Health h) {
  const Health old = d.health.exchange(h);
  d.state->set(static_cast<double>(static_cast<int>(h)));
  d.up->set(h == Health::kConnected || h == Health::kDegraded ? 1 : 0);
  if (old != h && (h == Health::kDown || old == Health::kDown || old == Health::kConnecting)) {
    spdlog::info("source {}: device {} ({}) {}", name_, d.config.name, d.link.where(), health_name(h));
  }
}

void ModbusSource::count_error(Device& d, const IoStatus& s, const Batch* b) {
  const std::string reason = s.reason();
  metrics_->counter("edgeloop_source_errors_total", "Messages a source rejected (dead-lettered), by reason.",
                    {{"source", name_}, {"reason", reason}})
      .add();
  std::string what;
  if (b) {
    what = std::string("read ") + modbus::table_name(b->table) + " " + std::to_string(b->start) + "+" +
           std::to_string(b->count) + ": " + s.message;
  } else {
    what = "connect: " + s.message;
  }
  if (d.error_logs++ % 1000 == 0) spdlog::warn("source {}: device {}: {} ({})", name_, d.config.name, what, reason);
  if (!b || s.fail == Fail::kConnection || !dead_letters_) return;  // a lost connection is no bad frame
  DeadLetter letter;
  letter.source = name_;
  letter.reason = reason;
  letter.topic = d.topic + "/" + d.config.name;
  letter.payload = std::move(what);
  letter.recv_ns = unix_now_ns();
  dead_letters_->write(std::move(letter));
}

bool ModbusSource::poll(Device& d) {
  const int64_t ts = unix_now_ns();
  Record r;
  r.key = d.key;
  r.source = index_;
  r.nfields = static_cast<uint8_t>(schema_.size());
  for (std::size_t i = 0; i < schema_.size(); ++i) r.f[i] = std::numeric_limits<double>::quiet_NaN();
  bool any_ok = false, any_failed = false;
  for (const Batch& b : d.batches) {
    const IoStatus s = d.link.read(b.table, b.start, b.count, d.words);
    if (!s.ok()) {
      count_error(d, s, &b);
      any_failed = true;
      if (s.fail == Fail::kConnection) return false;
      if (s.fail == Fail::kTimeout) {
        if (++d.timeouts_in_a_row >= d.config.max_timeouts) return false;
        d.link.flush();
      } else if (s.fail == Fail::kBadResponse) {
        d.link.flush();
      }
      continue;
    }
    d.timeouts_in_a_row = 0;
    any_ok = true;
    d.requests->add();
    d.registers->add(b.count);
    for (int pi : b.points) {
      const Point& p = d.config.points[static_cast<std::size_t>(pi)];
      r.f[static_cast<std::size_t>(p.field)] = p.value(&d.words[p.address - b.start]);
    }
  }
  set_health(d, any_failed ? Health::kDegraded : Health::kConnected);
  if (!any_ok) return true;
  r.ts_ns = ts;
  r.recv_ns = unix_now_ns();
  d.polls->add();
  {
    std::lock_guard lock(output_mu_);
    output_->push(std::move(r));
  }
  d.records->add();
  return true;
}

void ModbusSource::run(Device& d) {
  int64_t backoff = d.config.backoff_min_ns;
  set_health(d, Health::kConnecting);
  while (!stopping_.load()) {
    if (!d.link.connected()) {
      const IoStatus s = d.link.connect();
      if (!s.ok()) {
        count_error(d, s, nullptr);
        set_health(d, Health::kDown);
        if (!sleep_until(mono_now_ns() + backoff)) break;
        backoff = std::min(backoff * 2, d.config.backoff_max_ns);
        continue;
      }
      d.timeouts_in_a_row = 0;
      d.polled_since_connect = false;
      d.connects->add();
    }
    const int64_t started = mono_now_ns();
    if (!poll(d)) {
      d.link.close();
      set_health(d, Health::kDown);
      // A connection that served polls is made again at once; one that failed its first poll
      // (a peer that accepts and drops) waits the back-off like a refused connect.
      if (!d.polled_since_connect) {
        if (!sleep_until(mono_now_ns() + backoff)) break;
        backoff = std::min(backoff * 2, d.config.backoff_max_ns);
      }
      continue;
    }
    d.polled_since_connect = true;
    backoff = d.config.backoff_min_ns;
    if (d.config.interval_ns > 0 && !sleep_until(started + d.config.interval_ns)) break;
  }
  d.link.close();
}

}  // namespace edgeloop
