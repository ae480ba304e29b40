#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <map>
#include <thread>

#include "connectors/simulator/builtins.h"
#include "connectors/simulator/plant_model.h"
#include "connectors/simulator/simulator_source.h"
#include "core/registry.h"

namespace edgeloop {
namespace {

constexpr int64_t kStep = 100'000'000;
constexpr int64_t kSec = 1'000'000'000;

Mark at(int line) { return Mark{std::make_shared<std::string>("demo.yaml"), line, 5}; }
ConfigNode sc(std::string v, int line = 2) { return ConfigNode::scalar(std::move(v), at(line)); }
ConfigNode map_of(std::vector<std::pair<std::string, ConfigNode>> kv, int line = 1) {
  ConfigNode m = ConfigNode::map(at(line));
  for (auto& [k, v] : kv) m.set(k, std::move(v));
  return m;
}
ConfigNode list_of(std::vector<ConfigNode> items, int line = 3) {
  ConfigNode l = ConfigNode::sequence(at(line));
  for (auto& i : items) l.push(std::move(i));
  return l;
}

Result<SimulatorConfig> config_from(const ConfigNode& node) {
  auto opts = Options::parse(SimulatorConfig::table(), node, "sources.sim");
  if (!opts.ok()) return opts.take_error();
  return SimulatorConfig::from(*opts);
}

std::string config_error(const ConfigNode& node) {
  auto c = config_from(node);
  return c.ok() ? std::string("(no error)") : c.error().message;
}

PlantModel plant(std::vector<FaultSpec> faults, uint64_t seed = 42, int pumps = 2, int motors = 2) {
  auto m = PlantModel::make(PlantConfig{.pumps = pumps, .motors = motors, .seed = seed, .faults = std::move(faults)});
  EXPECT_TRUE(m.ok()) << m.error().message;
  return std::move(m).value();
}

// Steps a healthy and a faulted plant side by side (same seed: same noise) until `until_ns`.
struct Twin {
  PlantModel healthy;
  PlantModel faulted;
  void run_until(int64_t until_ns) {
    while (healthy.time_ns() < until_ns) {
      healthy.step(kStep);
      faulted.step(kStep);
    }
  }
  const AssetValues& h(const std::string& name) const { return healthy.find(name)->values(); }
  const AssetValues& f(const std::string& name) const { return faulted.find(name)->values(); }
};

Twin twin(FaultSpec fault) { return Twin{plant({}), plant({std::move(fault)})}; }

// --- the model -----------------------------------------------------------------------------

TEST(PlantModel, NamesAssetsPumpsThenMotors) {
  EXPECT_EQ(PlantModel::asset_names(2, 1),
            (std::vector<std::string>{"line1/pump-1", "line1/pump-2", "line1/motor-1"}));
  const PlantModel m = plant({}, 1, 1, 1);
  ASSERT_EQ(m.assets().size(), 2u);
  EXPECT_EQ(m.assets()[0].kind(), AssetKind::kPump);
  EXPECT_EQ(m.assets()[1].kind(), AssetKind::kMotor);
}

TEST(PlantModel, SameSeedSameValuesOtherSeedOtherValues) {
  PlantModel a = plant({}, 7);
  PlantModel b = plant({}, 7);
  PlantModel c = plant({}, 8);
  for (int i = 0; i < 600; ++i) {
    a.step(kStep);
    b.step(kStep);
    c.step(kStep);
    for (std::size_t k = 0; k < a.assets().size(); ++k) {
      const AssetValues& va = a.assets()[k].values();
      const AssetValues& vb = b.assets()[k].values();
      ASSERT_EQ(va.temperature, vb.temperature);
      ASSERT_EQ(va.vibration, vb.vibration);
      ASSERT_EQ(va.current, vb.current);
      ASSERT_EQ(va.speed, vb.speed);
      ASSERT_EQ(va.pressure, vb.pressure);
    }
  }
  EXPECT_EQ(a.time_ns(), 60 * kSec);
  EXPECT_NE(a.assets()[0].values().vibration, c.assets()[0].values().vibration);
  // Assets of one plant differ from each other too.
  EXPECT_NE(a.assets()[0].values().vibration, a.assets()[1].values().vibration);
}

TEST(PlantModel, RngIsTheSameOnEveryPlatform) {
  // xoshiro256** seeded by splitmix64: fixed outputs, so seeds reproduce across compilers.
  SimRng rng(42);
  const uint64_t first = rng.next();
  SimRng again(42);
  EXPECT_EQ(again.next(), first);
  SimRng u(1);
  double sum = 0, sum2 = 0;
  for (int i = 0; i < 20000; ++i) {
    const double x = u.normal();
    sum += x;
    sum2 += x * x;
  }
  EXPECT_NEAR(sum / 20000, 0.0, 0.03);
  EXPECT_NEAR(sum2 / 20000, 1.0, 0.05);
}

TEST(PlantModel, HealthyValuesStayInPlausibleBands) {
  for (uint64_t seed : {1u, 42u, 1234u}) {
    PlantModel m = plant({}, seed);
    std::map<std::string, double> pressure_sum, vib_sum, temp_sum;
    int n = 0;
    for (int i = 0; i < 6000; ++i) {  // 10 minutes
      m.step(kStep);
      ++n;
      for (const auto& a : m.assets()) {
        const AssetValues& v = a.values();
        ASSERT_GT(v.temperature, 35.0) << a.name();
        ASSERT_LT(v.temperature, 60.0) << a.name();
        ASSERT_GT(v.vibration, 1.2) << a.name();
        ASSERT_LT(v.vibration, 2.8) << a.name();
        ASSERT_GT(v.current, 12.0) << a.name();
        ASSERT_LT(v.current, 22.0) << a.name();
        ASSERT_GT(v.speed, 1470.0) << a.name();
        ASSERT_LT(v.speed, 1490.0) << a.name();
        if (a.kind() == AssetKind::kPump) {
          ASSERT_GT(v.pressure, 2.8) << a.name();
          ASSERT_LT(v.pressure, 5.2) << a.name();
        } else {
          ASSERT_EQ(v.pressure, 0.0) << a.name();
        }
        pressure_sum[a.name()] += v.pressure;
        vib_sum[a.name()] += v.vibration;
        temp_sum[a.name()] += v.temperature;
      }
    }
    for (const auto& a : m.assets()) {
      EXPECT_GT(vib_sum[a.name()] / n, 1.5) << a.name();
      EXPECT_LT(vib_sum[a.name()] / n, 2.5) << a.name();
      EXPECT_GT(temp_sum[a.name()] / n, 40.0) << a.name();
      EXPECT_LT(temp_sum[a.name()] / n, 55.0) << a.name();
      if (a.kind() == AssetKind::kPump) {
        EXPECT_NEAR(pressure_sum[a.name()] / n, 4.0, 0.4) << a.name();
      }
    }
  }
}

TEST(PlantModel, FaultLevelRampsLinearlyFromItsStart) {
  const FaultSpec f{.asset = "line1/pump-1", .type = FaultType::kBearingWear, .start_ns = 20 * kSec,
                    .ramp_ns = 40 * kSec, .severity = 0.8};
  EXPECT_EQ(f.level_at(0), 0.0);
  EXPECT_EQ(f.level_at(20 * kSec - 1), 0.0);
  EXPECT_EQ(f.level_at(20 * kSec), 0.0);
  EXPECT_DOUBLE_EQ(f.level_at(40 * kSec), 0.4);
  EXPECT_DOUBLE_EQ(f.level_at(60 * kSec), 0.8);
  EXPECT_DOUBLE_EQ(f.level_at(600 * kSec), 0.8);
  const FaultSpec sudden{.asset = "x", .type = FaultType::kImbalance, .start_ns = kSec, .ramp_ns = 0, .severity = 0.5};
  EXPECT_EQ(sudden.level_at(kSec), 0.5);
}

TEST(PlantModel, BearingWearRaisesVibrationFirstThenTemperature) {
  Twin t = twin({.asset = "line1/pump-1", .type = FaultType::kBearingWear, .start_ns = 10 * kSec,
                 .ramp_ns = 20 * kSec, .severity = 1.0});
  t.run_until(10 * kSec);
  // Nothing before the start: the same seed gives exactly the same values.
  EXPECT_EQ(t.f("line1/pump-1").vibration, t.h("line1/pump-1").vibration);
  EXPECT_EQ(t.f("line1/pump-1").temperature, t.h("line1/pump-1").temperature);
  t.run_until(20 * kSec);  // half way: level 0.5, vibration + 6 * 0.25 + impacts
  const double vib_mid = t.f("line1/pump-1").vibration - t.h("line1/pump-1").vibration;
  EXPECT_GE(vib_mid, 1.5);
  EXPECT_LT(vib_mid, 2.5);
  EXPECT_LT(t.f("line1/pump-1").temperature - t.h("line1/pump-1").temperature, 1.0);
  t.run_until(30 * kSec);  // full severity
  EXPECT_GE(t.f("line1/pump-1").vibration - t.h("line1/pump-1").vibration, 6.0);
  EXPECT_GT(t.f("line1/pump-1").vibration, 7.0);  // ISO 10816 zone D
  t.run_until(330 * kSec);  // five thermal time constants later: + 12 C of friction heat
  EXPECT_NEAR(t.f("line1/pump-1").temperature - t.h("line1/pump-1").temperature, 12.0, 0.2);
  EXPECT_NEAR(t.f("line1/pump-1").current - t.h("line1/pump-1").current, 0.6, 1e-9);
  // Other assets are untouched.
  EXPECT_EQ(t.f("line1/pump-2").vibration, t.h("line1/pump-2").vibration);
  EXPECT_EQ(t.f("line1/motor-1").temperature, t.h("line1/motor-1").temperature);
}

TEST(PlantModel, OverheatingDrivesTemperatureTowardNinetyFiveAndCurrentUp) {
  Twin t = twin({.asset = "line1/motor-1", .type = FaultType::kOverheating, .start_ns = 0, .ramp_ns = 30 * kSec,
                 .severity = 1.0});
  t.run_until(60 * kSec);
  EXPECT_GT(t.f("line1/motor-1").temperature, t.h("line1/motor-1").temperature + 15.0);
  t.run_until(600 * kSec);
  EXPECT_NEAR(t.f("line1/motor-1").temperature, 95.0, 0.5);
  EXPECT_NEAR(t.f("line1/motor-1").current / t.h("line1/motor-1").current, 1.25, 1e-9);
  EXPECT_EQ(t.f("line1/motor-1").vibration, t.h("line1/motor-1").vibration);
  EXPECT_NEAR(t.f("line1/motor-1").speed - t.h("line1/motor-1").speed, -5.0, 1e-9);
}

TEST(PlantModel, CavitationDropsAndShakesPressureAndRaisesVibration) {
  Twin t = twin({.asset = "line1/pump-2", .type = FaultType::kCavitation, .start_ns = 30 * kSec, .ramp_ns = 0,
                 .severity = 1.0});
  t.run_until(30 * kSec - kStep);
  EXPECT_EQ(t.f("line1/pump-2").pressure, t.h("line1/pump-2").pressure);
  double dp = 0, dv = 0, f_sum = 0, f_sum2 = 0, h_sum = 0, h_sum2 = 0;
  int n = 0;
  while (t.healthy.time_ns() < 90 * kSec) {
    t.run_until(t.healthy.time_ns() + kStep);
    const double fp = t.f("line1/pump-2").pressure, hp = t.h("line1/pump-2").pressure;
    dp += fp - hp;
    dv += t.f("line1/pump-2").vibration - t.h("line1/pump-2").vibration;
    f_sum += fp, f_sum2 += fp * fp, h_sum += hp, h_sum2 += hp * hp;
    EXPECT_EQ(t.f("line1/pump-2").temperature, t.h("line1/pump-2").temperature);
    ++n;
  }
  const double f_sd = std::sqrt(f_sum2 / n - (f_sum / n) * (f_sum / n));
  const double h_sd = std::sqrt(h_sum2 / n - (h_sum / n) * (h_sum / n));
  EXPECT_NEAR(dp / n, -1.5, 0.1);
  EXPECT_GT(f_sd, 2.0 * h_sd);  // it fluctuates
  EXPECT_GE(dv / n, 2.5 + 0.5);  // 2.5 steady + bursts (mean |N(0,1)| = 0.8)
}

TEST(PlantModel, ImbalanceRaisesVibrationAtConstantTemperature) {
  Twin t = twin({.asset = "line1/motor-2", .type = FaultType::kImbalance, .start_ns = 5 * kSec, .ramp_ns = 0,
                 .severity = 0.5});
  t.run_until(5 * kSec - kStep);
  EXPECT_EQ(t.f("line1/motor-2").vibration, t.h("line1/motor-2").vibration);
  for (int i = 0; i < 100; ++i) {
    t.run_until(t.healthy.time_ns() + kStep);
    ASSERT_NEAR(t.f("line1/motor-2").vibration - t.h("line1/motor-2").vibration, 2.0, 1e-9);
    ASSERT_EQ(t.f("line1/motor-2").temperature, t.h("line1/motor-2").temperature);
  }
}

TEST(PlantModel, RejectsFaultsThatDoNotFit) {
  EXPECT_EQ(PlantModel::check_fault({.asset = "line1/pump-3", .type = FaultType::kBearingWear}, 2, 1),
            "unknown asset 'line1/pump-3' (assets: line1/pump-1, line1/pump-2, line1/motor-1)");
  EXPECT_EQ(PlantModel::check_fault({.asset = "line1/motor-1", .type = FaultType::kCavitation}, 2, 1),
            "cavitation needs a pump; 'line1/motor-1' is a motor");
  EXPECT_EQ(PlantModel::check_fault({.asset = "line1/pump-1", .type = FaultType::kCavitation}, 2, 1), "");
  auto m = PlantModel::make({.pumps = 0, .motors = 0});
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().message, "a plant needs at least one pump or motor");
}

// --- options -------------------------------------------------------------------------------

TEST(SimulatorOptions, DefaultsGiveTheDemoStory) {
  auto c = config_from(ConfigNode());
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->plant.pumps, 2);
  EXPECT_EQ(c->plant.motors, 2);
  EXPECT_EQ(c->interval_ns, kStep);
  EXPECT_EQ(c->speed, 1.0);
  EXPECT_EQ(c->duration_ns, 0);
  EXPECT_FALSE(c->start_time_ns.has_value());
  ASSERT_EQ(c->plant.faults.size(), 1u);
  EXPECT_EQ(c->plant.faults[0].asset, "line1/pump-1");
  EXPECT_EQ(c->plant.faults[0].type, FaultType::kBearingWear);
  EXPECT_EQ(c->plant.faults[0].start_ns, 20 * kSec);
  EXPECT_EQ(c->plant.faults[0].ramp_ns, 40 * kSec);
  EXPECT_EQ(c->plant.faults[0].severity, 1.0);
}

TEST(SimulatorOptions, ParsesFaultsAndAnEmptyListMeansNone) {
  auto c = config_from(map_of({{"faults", list_of({map_of({{"asset", sc("line1/motor-2")},
                                                           {"type", sc("overheating")},
                                                           {"start", sc("1m")},
                                                           {"ramp", sc("90s")},
                                                           {"severity", sc("0.7")}})})},
                               {"start_time", sc("1700000000.5")},
                               {"seed", sc("9")}}));
  ASSERT_TRUE(c.ok()) << c.error().message;
  ASSERT_EQ(c->plant.faults.size(), 1u);
  EXPECT_EQ(c->plant.faults[0].asset, "line1/motor-2");
  EXPECT_EQ(c->plant.faults[0].type, FaultType::kOverheating);
  EXPECT_EQ(c->plant.faults[0].start_ns, 60 * kSec);
  EXPECT_EQ(c->plant.faults[0].ramp_ns, 90 * kSec);
  EXPECT_EQ(c->plant.faults[0].severity, 0.7);
  EXPECT_EQ(c->start_time_ns, int64_t{1'700'000'000'500'000'000});
  EXPECT_EQ(c->plant.seed, 9u);

  auto none = config_from(map_of({{"faults", list_of({})}}));
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->plant.faults.empty());
  auto no_pumps = config_from(map_of({{"pumps", sc("0")}}));
  ASSERT_TRUE(no_pumps.ok());
  EXPECT_TRUE(no_pumps->plant.faults.empty());  // the default fault needs pump-1
}

TEST(SimulatorOptions, FaultErrorsNameTheirPlace) {
  auto one = [](std::vector<std::pair<std::string, ConfigNode>> kv) {
    return map_of({{"faults", list_of({map_of(std::move(kv), 4)})}});
  };
  EXPECT_EQ(config_error(one({{"asset", sc("line1/pump-9", 5)}, {"type", sc("bearing_wear", 6)}})),
            "demo.yaml:5:5: sources.sim.faults[0].asset: unknown asset 'line1/pump-9' (assets: line1/pump-1, "
            "line1/pump-2, line1/motor-1, line1/motor-2)");
  EXPECT_EQ(config_error(one({{"asset", sc("line1/motor-1", 5)}, {"type", sc("cavitation", 6)}})),
            "demo.yaml:5:5: sources.sim.faults[0].asset: cavitation needs a pump; 'line1/motor-1' is a motor");
  EXPECT_EQ(config_error(one({{"asset", sc("line1/pump-1", 5)}, {"type", sc("rust", 6)}})),
            "demo.yaml:6:5: sources.sim.faults[0].type: 'rust' is not one of: bearing_wear, overheating, "
            "cavitation, imbalance");
  EXPECT_EQ(config_error(one({{"asset", sc("line1/pump-1", 5)}, {"type", sc("imbalance", 6)},
                              {"severity", sc("1.5", 7)}})),
            "demo.yaml:7:5: sources.sim.faults[0].severity: '1.5' out of range: must be between 0 and 1");
  EXPECT_EQ(config_error(one({{"asset", sc("line1/pump-1", 5)}, {"type", sc("imbalance", 6)},
                              {"sevrity", sc("1", 7)}})),
            "demo.yaml:7:5: sources.sim.faults[0]: unknown key 'sevrity' (expected one of: asset, type, start, "
            "ramp, severity, defect)");
  EXPECT_EQ(config_error(one({{"asset", sc("line1/pump-1", 5)}, {"type", sc("imbalance", 6)},
                              {"start", sc("soon", 7)}})),
            "demo.yaml:7:5: sources.sim.faults[0].start: expected a duration like 500ms, 10s, 5m, got 'soon'");
  EXPECT_NE(config_error(one({{"type", sc("imbalance", 6)}})).find("sources.sim.faults[0]: missing required key 'asset'"),
            std::string::npos);
  EXPECT_EQ(config_error(map_of({{"faults", list_of({sc("bearing_wear", 4)})}})),
            "demo.yaml:4:5: sources.sim.faults[0]: expected a map like {asset: line1/pump-1, type: bearing_wear, "
            "start: 20s, ramp: 40s}, got a scalar");
  EXPECT_EQ(config_error(map_of({{"pumps", sc("0", 2)}, {"motors", sc("0", 3)}})),
            "demo.yaml:2:5: sources.sim.pumps: no assets: pumps and motors are both 0");
  EXPECT_EQ(config_error(map_of({{"interval", sc("0s", 2)}})),
            "demo.yaml:2:5: sources.sim.interval: '0s' out of range: must be between 0.001 and 3600");
  EXPECT_EQ(config_error(map_of({{"speed", sc("-1", 2)}})),
            "demo.yaml:2:5: sources.sim.speed: '-1' out of range: must be between 0 and 1e+06");
}

TEST(SimulatorOptions, RegisteredAsSourceSimulator) {
  Registry reg;
  register_simulator(reg);
  const PluginInfo* info = reg.find("source", "simulator");
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(info->options.size(), 9u);
  auto src = reg.make_source(map_of({{"type", sc("simulator")}, {"pumps", sc("1")}}), "sources.sim");
  ASSERT_TRUE(src.ok()) << src.error().message;
  EXPECT_EQ((*src)->schema().names(),
            (std::vector<std::string>{"temperature", "vibration", "current", "speed", "pressure"}));
  auto bad = reg.make_source(map_of({{"type", sc("simulator")}, {"pump", sc("1", 2)}}), "sources.sim");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message,
            "demo.yaml:2:5: sources.sim: unknown key 'pump' (expected one of: pumps, motors, interval, faults, seed, "
            "speed, duration, start_time, vibration)");
}

// --- the source thread ---------------------------------------------------------------------

class Collector final : public RecordOutput {
 public:
  void push(Record&& r) override { records.push_back(std::move(r)); }
  std::vector<Record> records;
};

struct Harness {
  KeyTable keys;
  Collector out;
  Metrics metrics;
  SourceContext ctx;
  Harness() {
    ctx.name = "sim";
    ctx.index = 3;
    ctx.keys = &keys;
    ctx.output = &out;
    ctx.metrics = &metrics;
  }
};

std::unique_ptr<SimulatorSource> make_source(std::vector<std::pair<std::string, ConfigNode>> kv) {
  auto c = config_from(map_of(std::move(kv)));
  EXPECT_TRUE(c.ok()) << c.error().message;
  return std::make_unique<SimulatorSource>(std::move(c).value());
}

bool wait_for(const std::function<bool()>& pred, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

TEST(SimulatorSource, ProducesExactlyDurationOverIntervalRecordsPerAsset) {
  Harness h;
  auto src = make_source({{"pumps", sc("2")}, {"motors", sc("1")}, {"speed", sc("0")}, {"duration", sc("2s")},
                          {"start_time", sc("1700000000")}, {"seed", sc("5")}, {"faults", list_of({})}});
  EXPECT_EQ(src->health(), Health::kConnecting);
  ASSERT_TRUE(src->start(h.ctx).ok());
  EXPECT_EQ(src->health(), Health::kConnected);
  ASSERT_TRUE(wait_for([&] { return src->finished(); }));
  EXPECT_EQ(src->health(), Health::kConnected);
  src->stop();
  EXPECT_EQ(src->health(), Health::kDown);

  ASSERT_EQ(h.out.records.size(), 60u);  // 20 intervals x 3 assets
  EXPECT_EQ(src->produced(), 60u);
  EXPECT_EQ(h.metrics.value("edgeloop_source_records_total", {{"source", "sim"}}), 60.0);
  ASSERT_EQ(h.keys.size(), 3u);
  const KeyId pump1 = h.keys.find("line1/pump-1");
  ASSERT_NE(pump1, kNoKey);
  EXPECT_EQ(h.keys.entry(pump1).topic, "sim/line1/pump-1");
  EXPECT_EQ(h.keys.entry(pump1).source, 3);
  EXPECT_EQ(h.keys.entry(h.keys.find("line1/motor-1")).topic, "sim/line1/motor-1");

  // The records are the model's values, in sim time from start_time.
  PlantModel model = plant({}, 5, 2, 1);
  for (int step = 0; step < 20; ++step) {
    model.step(kStep);
    for (std::size_t a = 0; a < 3; ++a) {
      const Record& r = h.out.records[static_cast<std::size_t>(step) * 3 + a];
      const SimAsset& asset = model.assets()[a];
      ASSERT_EQ(h.keys.name(r.key), asset.name());
      ASSERT_EQ(r.source, 3);
      ASSERT_EQ(r.nfields, 5);
      ASSERT_EQ(r.ts_ns, 1'700'000'000 * kSec + (step + 1) * kStep);
      ASSERT_GT(r.recv_ns, 0);
      ASSERT_EQ(r.f[0], asset.values().temperature);
      ASSERT_EQ(r.f[1], asset.values().vibration);
      ASSERT_EQ(r.f[2], asset.values().current);
      ASSERT_EQ(r.f[3], asset.values().speed);
      ASSERT_EQ(r.f[4], asset.values().pressure);
    }
  }
}

TEST(SimulatorSource, AFaultShowsInTheRecords) {
  Harness h;
  auto src = make_source({{"pumps", sc("1")}, {"motors", sc("0")}, {"speed", sc("0")}, {"duration", sc("90s")},
                          {"start_time", sc("0")}});  // the default fault: bearing wear from 20s, 40s ramp
  ASSERT_TRUE(src->start(h.ctx).ok());
  ASSERT_TRUE(wait_for([&] { return src->finished(); }));
  src->stop();
  ASSERT_EQ(h.out.records.size(), 900u);
  EXPECT_LT(h.out.records[199].f[1], 2.8);  // t = 20s: still healthy
  EXPECT_EQ(h.out.records[199].ts_ns, 20 * kSec);
  EXPECT_GT(h.out.records[899].f[1], 7.0);  // t = 90s: worn
}

TEST(SimulatorSource, StopsPromptlyWhileWaitingForTheNextInterval) {
  Harness h;
  auto src = make_source({{"interval", sc("10m")}, {"speed", sc("1")}});
  ASSERT_TRUE(src->start(h.ctx).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const auto t0 = std::chrono::steady_clock::now();
  src->stop();
  // It would sleep ten minutes without the condition variable.
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  EXPECT_TRUE(h.out.records.empty());
  EXPECT_FALSE(src->finished());
  src->stop();  // idempotent
  EXPECT_EQ(src->health(), Health::kDown);
}

TEST(SimulatorSource, StopsPromptlyWhenRunningAsFastAsPossibleForever) {
  Harness h;
  auto src = make_source({{"speed", sc("0")}, {"pumps", sc("1")}, {"motors", sc("0")}});
  ASSERT_TRUE(src->start(h.ctx).ok());
  ASSERT_TRUE(wait_for([&] { return src->produced() >= 1000; }));
  src->stop();
  EXPECT_EQ(h.out.records.size(), src->produced());
  EXPECT_FALSE(src->finished());
}

TEST(SimulatorSource, PacesAgainstTheWallClockWhenSpeedIsSet) {
  Harness h;
  // 1 s of sim time at 50x: 20 ms of wall time, 10 records.
  auto src = make_source({{"speed", sc("50")}, {"duration", sc("1s")}, {"pumps", sc("1")}, {"motors", sc("0")}});
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(src->start(h.ctx).ok());
  ASSERT_TRUE(wait_for([&] { return src->finished(); }));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(20));  // never early
  src->stop();
  EXPECT_EQ(h.out.records.size(), 10u);
}

TEST(SimulatorSource, RejectsAContextWithoutOutputAndASecondStart) {
  Harness h;
  auto src = make_source({{"speed", sc("0")}, {"duration", sc("1s")}});
  SourceContext empty;
  empty.name = "sim";
  auto st = src->start(empty);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message, "simulator 'sim': the context has no key table or output");
  ASSERT_TRUE(src->start(h.ctx).ok());
  auto again = src->start(h.ctx);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().message, "simulator 'sim' already started");
  src->stop();
}

}  // namespace
}  // namespace edgeloop
