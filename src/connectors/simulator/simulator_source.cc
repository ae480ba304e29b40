#include "connectors/simulator/simulator_source.h"

#include <chrono>
#include <cmath>

#include "core/clock.h"

namespace edgeloop {

namespace {

// The options of one entry of `faults`, validated with Options::parse so that typos and
// bad values get the same precise errors as top-level options.
const OptionTable& fault_table() {
  static const OptionTable table = {
      {.name = "asset", .type = OptionType::kString, .description = "The asset that develops the fault, e.g. line1/pump-1.",
       .required = true},
      {.name = "type", .type = OptionType::kString, .description = "The kind of fault.", .required = true,
       .choices = fault_type_names()},
      {.name = "start", .type = OptionType::kDuration, .default_value = "0s",
       .description = "Sim time (since the simulator started) at which the fault begins."},
      {.name = "ramp", .type = OptionType::kDuration, .default_value = "0s",
       .description = "How long the fault takes to develop to full severity (0: at once)."},
      {.name = "severity", .type = OptionType::kNumber, .default_value = "1",
       .description = "Full severity, 0 (none) to 1 (as bad as the model gets).", .min = 0, .max = 1},
  };
  return table;
}

}  // namespace

const Schema& simulator_schema() {
  static const Schema schema({"temperature", "vibration", "current", "speed", "pressure"});
  return schema;
}

const OptionTable& SimulatorConfig::table() {
  static const OptionTable table = {
      {.name = "pumps", .type = OptionType::kInt, .default_value = "2",
       .description = "Number of pumps (keys line1/pump-1..N, with discharge pressure).", .min = 0, .max = 1000},
      {.name = "motors", .type = OptionType::kInt, .default_value = "2",
       .description = "Number of motors (keys line1/motor-1..N; pressure is 0).", .min = 0, .max = 1000},
      {.name = "interval", .type = OptionType::kDuration, .default_value = "100ms",
       .description = "Sim time between two records of an asset.", .min = 0.001, .max = 3600},
      {.name = "faults", .type = OptionType::kList,
       .description = "Faults on a schedule: a list of maps {asset, type (bearing_wear, overheating, cavitation, "
                      "imbalance), start (sim time), ramp (time to full severity), severity (0..1)}. Unset: one "
                      "bearing_wear on line1/pump-1 starting at 20s with a 40s ramp; [] for none."},
      {.name = "seed", .type = OptionType::kInt, .default_value = "42",
       .description = "Seed of the noise: the same seed and options give the same values.", .min = 0},
      {.name = "speed", .type = OptionType::kNumber, .default_value = "1",
       .description = "Time acceleration: sim seconds per wall second (1: real time; 0: as fast as possible).",
       .min = 0, .max = 1e6},
      {.name = "duration", .type = OptionType::kDuration, .default_value = "0s",
       .description = "Stop producing after this much sim time (0: run until stopped)."},
      {.name = "start_time", .type = OptionType::kNumber,
       .description = "Unix time in seconds of sim time 0, for reproducible timestamps (default: now).", .min = 0,
       .max = 1e10},
  };
  return table;
}

static Result<std::vector<FaultSpec>> parse_faults(const Options& options, int pumps, int motors) {
  std::vector<FaultSpec> out;
  const ConfigNode* node = options.node("faults");
  if (!options.has("faults") || node == nullptr) {
    // The demo's story: a bearing wears and an alert fires within about a minute.
    FaultSpec f{.asset = PlantModel::asset_name(AssetKind::kPump, 1), .type = FaultType::kBearingWear,
                .start_ns = 20 * kNsPerSec, .ramp_ns = 40 * kNsPerSec, .severity = 1.0};
    if (pumps >= 1) out.push_back(std::move(f));
    return out;
  }
  // A single map is a list of one, like a single scalar is for other list options.
  std::vector<const ConfigNode*> items;
  if (node->is_sequence()) {
    for (const auto& item : node->items()) items.push_back(&item);
  } else {
    items.push_back(node);
  }
  for (std::size_t i = 0; i < items.size(); ++i) {
    const ConfigNode& item = *items[i];
    const std::string path = options.path() + (options.path().empty() ? "" : ".") + "faults[" + std::to_string(i) + "]";
    if (!item.is_map()) {
      return make_error(Errc::kInvalidConfig,
                        config_error_text(item.mark(), path,
                                          std::string("expected a map like {asset: line1/pump-1, type: bearing_wear, "
                                                      "start: 20s, ramp: 40s}, got ") + item.kind_name()));
    }
    EDGELOOP_ASSIGN_OR_RETURN(Options fo, Options::parse(fault_table(), item, path));
    FaultSpec f;
    f.asset = fo.str("asset");
    parse_fault_type(fo.str("type"), f.type);  // the table's choices already checked it
    f.start_ns = fo.duration_ns("start");
    f.ramp_ns = fo.duration_ns("ramp");
    f.severity = fo.number("severity");
    const std::string why = PlantModel::check_fault(f, pumps, motors);
    if (!why.empty()) return fo.error("asset", why);
    out.push_back(std::move(f));
  }
  return out;
}

Result<SimulatorConfig> SimulatorConfig::from(const Options& options) {
  SimulatorConfig c;
  c.plant.pumps = static_cast<int>(options.integer("pumps"));
  c.plant.motors = static_cast<int>(options.integer("motors"));
  if (c.plant.pumps + c.plant.motors == 0) {
    return options.error("pumps", "no assets: pumps and motors are both 0");
  }
  c.plant.seed = static_cast<uint64_t>(options.integer("seed"));
  c.interval_ns = options.duration_ns("interval");
  c.speed = options.number("speed");
  c.duration_ns = options.duration_ns("duration");
  if (options.has("start_time")) {
    c.start_time_ns = static_cast<int64_t>(std::llround(options.number("start_time") * 1e9));
  }
  EDGELOOP_ASSIGN_OR_RETURN(c.plant.faults, parse_faults(options, c.plant.pumps, c.plant.motors));
  return c;
}

SimulatorSource::SimulatorSource(SimulatorConfig config) : config_(std::move(config)) {}

SimulatorSource::~SimulatorSource() { stop(); }

Status SimulatorSource::start(SourceContext& ctx) {
  if (thread_.joinable()) return make_error(Errc::kInvalidArgument, "simulator '" + ctx.name + "' already started");
  if (ctx.keys == nullptr || ctx.output == nullptr) {
    return make_error(Errc::kInvalidArgument, "simulator '" + ctx.name + "': the context has no key table or output");
  }
  EDGELOOP_ASSIGN_OR_RETURN(PlantModel model, PlantModel::make(config_.plant));
  RunState state{.model = std::move(model)};
  for (const auto& asset : state.model.assets()) {
    EDGELOOP_ASSIGN_OR_RETURN(KeyId id, ctx.keys->intern(asset.name(), "sim/" + asset.name(), ctx.index));
    state.keys.push_back(id);
  }
  state.output = ctx.output;
  state.source = ctx.index;
  state.t0_ns = config_.start_time_ns ? *config_.start_time_ns : unix_now_ns();
  if (ctx.metrics != nullptr) {
    state.records = &ctx.metrics->counter("edgeloop_source_records_total", "Records a source produced.",
                                          {{"source", ctx.name}});
  }
  {
    std::lock_guard lock(mu_);
    stop_requested_ = false;
  }
  stopping_.store(false);
  finished_.store(false);
  health_.store(Health::kConnected);
  thread_ = std::thread([this, s = std::move(state)]() mutable { run(std::move(s)); });
  return Status::Ok();
}

void SimulatorSource::stop() {
  {
    std::lock_guard lock(mu_);
    stop_requested_ = true;
  }
  stopping_.store(true);
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  health_.store(Health::kDown);
}

bool SimulatorSource::wait_until(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mu_);
  return cv_.wait_until(lock, deadline, [this] { return stop_requested_; });
}

void SimulatorSource::run(RunState state) {
  using Clock = std::chrono::steady_clock;
  const auto wall0 = Clock::now();
  const std::size_t n = state.model.assets().size();
  int64_t t_ns = 0;
  // The model is at its steady state at sim time 0; the first records are one interval later.
  while (!stopping_.load(std::memory_order_relaxed)) {
    if (config_.duration_ns > 0 && t_ns + config_.interval_ns > config_.duration_ns) {
      finished_.store(true, std::memory_order_release);
      return;
    }
    t_ns += config_.interval_ns;
    if (config_.speed > 0) {
      // Paced against the start, not the previous step, so the rate does not drift.
      const double wall_ns = static_cast<double>(t_ns) / config_.speed;
      if (wait_until(wall0 + std::chrono::nanoseconds(static_cast<int64_t>(wall_ns)))) return;
    }
    state.model.step(config_.interval_ns);
    const int64_t recv_ns = unix_now_ns();
    for (std::size_t i = 0; i < n; ++i) {
      const AssetValues& v = state.model.assets()[i].values();
      Record r;
      r.key = state.keys[i];
      r.source = state.source;
      r.nfields = 5;
      r.ts_ns = state.t0_ns + t_ns;
      r.recv_ns = recv_ns;
      r.f[0] = v.temperature;
      r.f[1] = v.vibration;
      r.f[2] = v.current;
      r.f[3] = v.speed;
      r.f[4] = v.pressure;
      // Hook (predictive-maintenance issue): with a `waveform` option, r.block would carry
      // a SampleBlock from SimAsset::fill_waveform (see plant_model.h).
      state.output->push(std::move(r));
    }
    produced_.fetch_add(n, std::memory_order_relaxed);
    if (state.records != nullptr) state.records->add(n);
  }
}

}  // namespace edgeloop
