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
      {.name = "defect", .type = OptionType::kString, .default_value = "outer",
       .description = "bearing_wear only: the damaged part, which sets the impact rate of the raw vibration "
                      "(`vibration`): outer race (BPFO), inner race (BPFI) or a ball (2 x BSF).",
       .choices = {"outer", "inner", "ball"}},
  };
  return table;
}

// The options of `vibration`.
const OptionTable& vibration_table() {
  static const OptionTable table = {
      {.name = "sample_rate", .type = OptionType::kNumber, .default_value = "12000",
       .description = "Samples per second of the acceleration signal.", .min = 1000, .max = 1e6},
      {.name = "block", .type = OptionType::kInt, .default_value = "0",
       .description = "Samples per record: a snapshot of that many samples at the start of each interval (the "
                      "rest of the interval is not sampled); 0: every sample of the interval (a contiguous stream).",
       .min = 0, .max = 1 << 22},
      {.name = "n_balls", .type = OptionType::kInt, .default_value = "9",
       .description = "Bearing geometry: rolling elements (default: SKF 6205, the CWRU drive-end bearing).", .min = 1,
       .max = 200},
      {.name = "ball_diameter", .type = OptionType::kNumber, .default_value = "0.3126",
       .description = "Bearing geometry: ball diameter d (any unit, the same as pitch_diameter).", .min = 0},
      {.name = "pitch_diameter", .type = OptionType::kNumber, .default_value = "1.537",
       .description = "Bearing geometry: pitch diameter D.", .min = 0},
      {.name = "contact_angle", .type = OptionType::kNumber, .default_value = "0",
       .description = "Bearing geometry: contact angle in degrees.", .min = -89.9, .max = 89.9},
      {.name = "resonance", .type = OptionType::kNumber, .default_value = "3000",
       .description = "Hz: the structural resonance each impact of a bearing defect rings (below 0.45 x sample_rate).",
       .min = 1},
      {.name = "damping", .type = OptionType::kNumber, .default_value = "0.05",
       .description = "Damping ratio of that resonance (a ring decays in 1 / (2 pi damping resonance) s).",
       .min = 0.001, .max = 0.9},
      {.name = "impact", .type = OptionType::kNumber, .default_value = "1",
       .description = "g: the peak of one impact at fault severity 1 (a bearing_wear fault's level scales it).",
       .min = 0},
      {.name = "snr_db", .type = OptionType::kNumber, .default_value = "6",
       .description = "Broadband noise: the peak of a severity-1 impact over the noise RMS, in dB (noise RMS = "
                      "impact / 10^(snr_db / 20)).",
       .min = -60, .max = 120},
      {.name = "shaft", .type = OptionType::kNumber, .default_value = "0.2",
       .description = "g: the 1x shaft tone (2x and 3x: a half and a quarter of it); imbalance raises it.", .min = 0},
      {.name = "slip", .type = OptionType::kNumber, .default_value = "0.015",
       .description = "Standard deviation of the spacing of the impacts, as a share of their period (rolling "
                      "elements slip: 0.01 to 0.02).",
       .min = 0, .max = 0.2},
  };
  return table;
}

Result<VibrationSpec> parse_vibration(const Options& options, int& block) {
  const ConfigNode* node = options.node("vibration");
  const std::string path = options.path() + (options.path().empty() ? "" : ".") + "vibration";
  if (node == nullptr || !node->is_map()) {
    return make_error(Errc::kInvalidConfig,
                      config_error_text(node ? node->mark() : options.mark(), path,
                                        "expected a map like {sample_rate: 12000, block: 2048}"));
  }
  EDGELOOP_ASSIGN_OR_RETURN(Options vo, Options::parse(vibration_table(), *node, path));
  VibrationSpec v;
  v.sample_rate_hz = vo.number("sample_rate");
  v.geometry.n_balls = static_cast<int>(vo.integer("n_balls"));
  v.geometry.ball_diameter = vo.number("ball_diameter");
  v.geometry.pitch_diameter = vo.number("pitch_diameter");
  v.geometry.contact_angle_deg = vo.number("contact_angle");
  v.resonance_hz = vo.number("resonance");
  v.damping = vo.number("damping");
  v.impact_g = vo.number("impact");
  v.snr_db = vo.number("snr_db");
  v.shaft_g = vo.number("shaft");
  v.slip = vo.number("slip");
  if (Status st = v.validate(); !st.ok()) return vo.error("resonance", st.error().message);
  block = static_cast<int>(vo.integer("block"));
  return v;
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
      {.name = "vibration", .type = OptionType::kMap,
       .description = "Raw vibration: each record also carries a block of acceleration samples (g) from a bearing "
                      "model (impacts of a bearing_wear fault's defect ringing a resonance, shaft harmonics, noise), "
                      "for samples -> envelope -> features pipelines: {sample_rate (12000), block (0: contiguous), "
                      "n_balls, ball_diameter, pitch_diameter, contact_angle, resonance (3000 Hz), damping (0.05), "
                      "impact (1 g), snr_db (6), shaft (0.2 g), slip (0.015)}. Unset: scalar records only."},
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
    if (fo.has("defect") && f.type != FaultType::kBearingWear) {
      return fo.error("defect", "`defect` applies to bearing_wear only");
    }
    parse_bearing_defect(fo.str("defect"), f.defect);
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
  if (options.has("vibration")) {
    EDGELOOP_ASSIGN_OR_RETURN(c.vibration, parse_vibration(options, c.vibration_block));
    const double interval_samples = static_cast<double>(c.interval_ns) * 1e-9 * c.vibration->sample_rate_hz;
    if (c.vibration_block > interval_samples + 1e-6) {
      return options.error("vibration", "a block of " + std::to_string(c.vibration_block) + " samples is longer than the interval (" +
                                            std::to_string(interval_samples) + " samples): lengthen `interval` or shorten `block`");
    }
    if (c.vibration_block == 0 && interval_samples < 1) return options.error("vibration", "the interval holds no sample");
  }
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
  if (config_.vibration) {
    // Seeds of their own (not drawn from the assets' streams): the scalar fields do not change.
    uint64_t seed = config_.plant.seed ^ 0x5EED0F5A3B1E5ULL;
    for (std::size_t i = 0; i < state.model.assets().size(); ++i) {
      seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
      state.vibration.emplace_back(*config_.vibration, seed);
    }
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

std::shared_ptr<const SampleBlock> SimulatorSource::vibration_block(RunState& state, std::size_t i, int64_t t_ns) const {
  const SimAsset& asset = state.model.assets()[i];
  BearingVibration& vib = state.vibration[i];
  const double fs = config_.vibration->sample_rate_hz;
  const double shaft_hz = asset.values().speed / 60.0;
  const double wear = asset.fault_level(FaultType::kBearingWear);
  BearingDefect defect = BearingDefect::kNone;
  for (const auto& f : asset.faults())
    if (f.type == FaultType::kBearingWear && f.level_at(asset.time_ns()) > 0) defect = f.defect;
  // Imbalance raises the shaft tones (as it adds kImbalanceVib to the RMS), cavitation the noise.
  const double shaft_gain = 1 + 4 * asset.fault_level(FaultType::kImbalance);
  const double noise_gain = 1 + 2 * (asset.kind() == AssetKind::kPump ? asset.fault_level(FaultType::kCavitation) : 0.0);
  auto block = std::make_shared<SampleBlock>();
  block->sample_rate_hz = fs;
  const double t_s = static_cast<double>(t_ns) * 1e-9;
  if (config_.vibration_block == 0) {
    // Contiguous: the samples of (t - interval, t], counted from sim time 0 so none is lost.
    const auto due = static_cast<uint64_t>(std::floor(t_s * fs + 1e-9));
    const uint64_t have = vib.samples();
    block->samples.resize(due > have ? due - have : 0);
    vib.generate(shaft_hz, defect, wear, block->samples, shaft_gain, noise_gain);
  } else {
    block->samples.resize(static_cast<std::size_t>(config_.vibration_block));
    vib.generate(shaft_hz, defect, wear, block->samples, shaft_gain, noise_gain);
    const double rest = static_cast<double>(config_.interval_ns) * 1e-9 - static_cast<double>(config_.vibration_block) / fs;
    vib.skip(rest, shaft_hz, defect, wear);
  }
  return block;
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
      if (!state.vibration.empty()) r.block = vibration_block(state, i, t_ns);
      state.output->push(std::move(r));
    }
    produced_.fetch_add(n, std::memory_order_relaxed);
    if (state.records != nullptr) state.records->add(n);
  }
}

}  // namespace edgeloop
