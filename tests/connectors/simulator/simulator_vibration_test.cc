// source.simulator with `vibration`: records carry blocks of acceleration samples (contiguous
// or snapshots), the scalar fields do not change, the options are checked, and a demo pipeline
// samples -> envelope -> features -> detect -> rule alarms on a pump whose outer race wears,
// names the defect, and stays quiet on the healthy pump.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <map>
#include <mutex>
#include <thread>

#include "config/app_config.h"
#include "config/yaml_loader.h"
#include "connectors/simulator/builtins.h"
#include "connectors/simulator/simulator_source.h"
#include "core/registry.h"
#include "models/builtins.h"
#include "operators/builtins.h"
#include "operators/dsp/builtins.h"
#include "rules/builtins.h"
#include "runtime/inproc_source.h"
#include "runtime/runtime.h"

namespace edgeloop {
namespace {

Result<SimulatorConfig> sim_config(const std::string& yaml) {
  auto node = load_yaml_string(yaml, "sim.yaml");
  if (!node.ok()) return node.take_error();
  auto opts = Options::parse(SimulatorConfig::table(), *node, "sources.sim");
  if (!opts.ok()) return opts.take_error();
  return SimulatorConfig::from(*opts);
}

std::string sim_error(const std::string& yaml) {
  auto c = sim_config(yaml);
  return c.ok() ? std::string("(no error)") : c.error().message;
}

class Collector final : public RecordOutput {
 public:
  void push(Record&& r) override { records.push_back(std::move(r)); }
  std::vector<Record> records;
};

std::vector<Record> produce(const SimulatorConfig& config) {
  KeyTable keys;
  Collector out;
  SourceContext ctx;
  ctx.name = "sim";
  ctx.keys = &keys;
  ctx.output = &out;
  SimulatorSource src(config);
  EXPECT_TRUE(src.start(ctx).ok());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!src.finished() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_TRUE(src.finished());
  src.stop();
  return std::move(out.records);
}

TEST(SimulatorVibration, OptionsAndTheirErrors) {
  auto c = sim_config("{vibration: {sample_rate: 12000, block: 2048, snr_db: 0}, interval: 1s}");
  ASSERT_TRUE(c.ok()) << c.error().message;
  ASSERT_TRUE(c->vibration.has_value());
  EXPECT_EQ(c->vibration_block, 2048);
  EXPECT_DOUBLE_EQ(c->vibration->sample_rate_hz, 12000);
  EXPECT_DOUBLE_EQ(c->vibration->noise_rms(), 1.0);
  EXPECT_EQ(c->vibration->geometry.n_balls, 9);
  ASSERT_EQ(c->plant.faults.size(), 1u);
  EXPECT_EQ(c->plant.faults[0].defect, BearingDefect::kOuterRace);  // the default fault's default defect

  auto d = sim_config("{faults: [{asset: line1/pump-2, type: bearing_wear, defect: inner}]}");
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_FALSE(d->vibration.has_value());
  EXPECT_EQ(d->plant.faults[0].defect, BearingDefect::kInnerRace);

  EXPECT_NE(sim_error("{vibration: {block: 2048}}").find("a block of 2048 samples is longer than the interval (1200"),
            std::string::npos)
      << sim_error("{vibration: {block: 2048}}");
  EXPECT_NE(sim_error("{vibration: {rate: 1}}").find("sources.sim.vibration: unknown key 'rate'"), std::string::npos)
      << sim_error("{vibration: {rate: 1}}");
  EXPECT_EQ(sim_error("{vibration: 5}"), "sim.yaml:1:13: sources.sim.vibration: expected a map, got a scalar");
  EXPECT_NE(sim_error("{vibration: {resonance: 7000}}").find("below 0.45 x the sample rate"), std::string::npos)
      << sim_error("{vibration: {resonance: 7000}}");
  EXPECT_NE(sim_error("{faults: [{asset: line1/pump-1, type: imbalance, defect: ball}]}").find("`defect` applies to bearing_wear only"),
            std::string::npos);
}

TEST(SimulatorVibration, ContiguousBlocksAndUnchangedScalars) {
  const std::string base = "{pumps: 1, motors: 1, speed: 0, duration: 1s, start_time: 0, seed: 9";
  auto plain = sim_config(base + "}");
  auto vib = sim_config(base + ", vibration: {sample_rate: 12000}}");
  ASSERT_TRUE(plain.ok() && vib.ok());
  const auto a = produce(*plain);
  const auto b = produce(*vib);
  ASSERT_EQ(a.size(), 20u);
  ASSERT_EQ(b.size(), 20u);
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].block, nullptr);
    ASSERT_NE(b[i].block, nullptr);
    EXPECT_EQ(b[i].block->sample_rate_hz, 12000);
    EXPECT_EQ(b[i].block->samples.size(), 1200u);  // 100 ms at 12 kHz
    EXPECT_EQ(a[i].ts_ns, b[i].ts_ns);
    for (int f = 0; f < 5; ++f) EXPECT_EQ(a[i].f[static_cast<std::size_t>(f)], b[i].f[static_cast<std::size_t>(f)]);
  }
  // Same config, same samples (the blocks' continuity is checked on the model itself).
  const auto c = produce(*vib);
  EXPECT_EQ(c[7].block->samples, b[7].block->samples);
  EXPECT_NE(b[6].block->samples, b[7].block->samples);  // pump and motor differ
}

TEST(SimulatorVibration, SnapshotsOfABlockEveryInterval) {
  auto c = sim_config("{pumps: 1, motors: 0, speed: 0, duration: 5s, interval: 1s, start_time: 0, faults: [], "
                      "vibration: {sample_rate: 20000, block: 4096}}");
  ASSERT_TRUE(c.ok()) << c.error().message;
  const auto r = produce(*c);
  ASSERT_EQ(r.size(), 5u);
  for (const auto& rec : r) {
    ASSERT_NE(rec.block, nullptr);
    EXPECT_EQ(rec.block->samples.size(), 4096u);
    EXPECT_EQ(rec.block->sample_rate_hz, 20000);
  }
}

// The demo: two pumps, the outer race of pump 1 wears from 40 s; the pipeline of the README.
TEST(SimulatorVibration, DemoPipelineAlarmsOnTheWornBearingOnly) {
  Registry registry;
  register_simulator(registry);
  register_operators(registry);
  register_dsp(registry);
  register_models(registry);
  register_rules(registry);
  register_runtime(registry);
  const std::string yaml = R"(
sources:
  plant:
    type: simulator
    pumps: 2
    motors: 0
    speed: 0
    duration: 120s
    start_time: 0
    seed: 3
    faults: [{asset: line1/pump-1, type: bearing_wear, start: 40s, ramp: 60s, defect: outer}]
    vibration: {sample_rate: 12000}
pipelines:
  bearing:
    from: plant
    steps:
      - samples: {size: 8192, hop: 4096}
      - envelope: {band: [2000, 4000], n_balls: 9, ball_diameter: 0.3126, pitch_diameter: 1.537, shaft_field: speed}
      - features: [rms, kurtosis]
      - detect: {method: mahalanobis, fields: [bpfo, bpfi, bsf, rms, kurtosis], warmup: 60, smooth: 3, emit: every}
      - rule: {name: bearing, when: "score > 0.9", for: 3, clear: "score < 0.5"}
runtime:
  shards: 0
  summary_interval: 0s
)";
  auto node = load_yaml_string(yaml, "demo.yaml");
  ASSERT_TRUE(node.ok()) << node.error().message;
  auto config = parse_app_config(*node);
  ASSERT_TRUE(config.ok()) << config.error().message;
  auto rt = Runtime::build(*config, registry);
  ASSERT_TRUE(rt.ok()) << rt.error().message;
  std::mutex mu;
  std::map<std::string, int64_t> first_alert;        // key -> ts
  std::map<std::string, std::map<std::string, double>> last;  // key -> field -> value
  Runtime& runtime = **rt;
  runtime.add_event_listener([&](const Event& e) {
    const std::string key = runtime.keys().name(e.key);
    std::lock_guard lock(mu);
    if (e.kind == EventKind::kAlert && e.state == AlertState::kRaised && !first_alert.count(key)) first_alert[key] = e.ts_ns;
    if (e.kind == EventKind::kInsight && e.schema) {
      for (std::size_t i = 0; i < e.nfields && i < e.schema->size(); ++i) last[key][e.schema->name(i)] = e.f[i];
    }
  });
  ASSERT_TRUE(runtime.start().ok());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (runtime.metrics().value("edgeloop_source_records_total", {{"source", "plant"}}) < 2400 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  runtime.stop();
  EXPECT_EQ(runtime.metrics().value("edgeloop_source_records_total", {{"source", "plant"}}), 2400.0);

  std::lock_guard lock(mu);
  ASSERT_TRUE(first_alert.count("line1/pump-1"));
  EXPECT_FALSE(first_alert.count("line1/pump-2")) << first_alert["line1/pump-2"] * 1e-9;
  EXPECT_GT(first_alert["line1/pump-1"], int64_t{40} * 1'000'000'000);   // not before the wear starts
  EXPECT_LT(first_alert["line1/pump-1"], int64_t{100} * 1'000'000'000);  // before full severity
  // The envelope names the outer race on the worn pump.
  auto& p1 = last["line1/pump-1"];
  EXPECT_GT(p1["bpfo"], 3 * p1["bpfi"]);
  EXPECT_GT(p1["bpfo"], 1.5 * p1["bsf"]);  // bsf shares 2 x BPFO (3 x BSF is within 2 % of it)
  EXPECT_GT(p1["score"], 0.9);
  EXPECT_LT(last["line1/pump-2"]["score"], 0.9);
}

}  // namespace
}  // namespace edgeloop
