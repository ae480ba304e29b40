// op.detect and op.health through the registry, as a pipeline builds them.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <thread>
#include <unistd.h>

#include "models/builtins.h"
#include "models/detect_stage.h"
#include "models/health_stage.h"
#include "noise.h"
#include "operators/stage_harness.h"

namespace edgeloop {
namespace {

using testing::Collect;
using testing::kMinute;
using testing::options_node;
using testing::rec;

const Registry& models_registry() {
  static const Registry r = [] {
    Registry reg;
    register_models(reg);
    return reg;
  }();
  return r;
}

Result<std::unique_ptr<Stage>> make(const std::string& step, const ConfigNode& node, const Schema& input,
                                    Metrics* metrics = nullptr) {
  return testing::make_stage_in(models_registry(), step, node, input, metrics, 1);
}

// A noisy level with a step at `step_at`, for key/slot `slot`.
std::vector<Record> series(uint32_t slot, int n, int step_at, uint64_t seed) {
  testing::Noise noise(seed);
  std::vector<Record> out;
  for (int i = 0; i < n; ++i) out.push_back(rec(slot, int64_t{i} * kMinute, {20 + noise.gauss() + (i >= step_at ? 10.0 : 0.0)}));
  return out;
}

TEST(DetectStage, AppendsAScoreAndEmitsAboveTheThreshold) {
  const Schema input({"temp"});
  auto stage = make("detect", options_node({{"warmup", "100"}, {"emit_above", "0.9"}}), input);
  ASSERT_TRUE(stage.ok()) << stage.error().message;
  EXPECT_EQ((*stage)->output_schema().names(), (std::vector<std::string>{"temp", "score"}));
  Collect out;
  for (const auto& r : series(0, 1500, 1200, 1)) (*stage)->process(r, out);
  ASSERT_EQ(out.records.size(), 1500u);
  for (int i = 0; i < 100; ++i) ASSERT_EQ(out.records[static_cast<std::size_t>(i)].f[1], 0.0);  // warm-up
  EXPECT_EQ(out.records[5].f[0], series(0, 6, 1200, 1)[5].f[0]);                                 // passed through
  EXPECT_EQ(out.records[5].nfields, 2);
  EXPECT_GT(out.records[1200].f[1], 0.9);
  ASSERT_FALSE(out.events.empty());
  const Event& e = out.events.front();
  EXPECT_EQ(e.kind, EventKind::kInsight);
  EXPECT_EQ(*e.name, "detect");
  EXPECT_EQ(e.schema->index_of("score"), 1);
  for (const auto& ev : out.events) EXPECT_GE(ev.f[1], 0.9);
  EXPECT_EQ(out.events.front().ts_ns, 1200 * kMinute);  // the first event is the step itself
}

TEST(DetectStage, WarmupAsADurationAndEveryEvent) {
  const Schema input({"v"});
  auto stage = make("detect", options_node({{"warmup", "2h"}, {"emit", "every"}, {"output", "anomaly"}}), input);
  ASSERT_TRUE(stage.ok()) << stage.error().message;
  Collect out;
  for (const auto& r : series(0, 300, 1 << 30, 2)) (*stage)->process(r, out);
  EXPECT_EQ(out.events.size(), 300u);
  for (int i = 0; i < 120; ++i) ASSERT_EQ(out.records[static_cast<std::size_t>(i)].f[1], 0.0) << i;
  EXPECT_EQ((*stage)->output_schema().name(1), "anomaly");
}

TEST(DetectStage, KeysAreIndependent) {
  const Schema input({"v"});
  auto stage = make("detect", options_node({{"warmup", "100"}}), input);
  ASSERT_TRUE(stage.ok());
  Collect out;
  const auto a = series(0, 1000, 800, 3), b = series(1, 1000, 1 << 30, 4);
  for (int i = 0; i < 1000; ++i) {
    (*stage)->process(a[static_cast<std::size_t>(i)], out);
    (*stage)->process(b[static_cast<std::size_t>(i)], out);
  }
  EXPECT_GT(out.records[2 * 800].f[1], 0.9);      // key 0 at its step
  EXPECT_LT(out.records[2 * 800 + 1].f[1], 0.9);  // key 1, same time, nothing happened
}

TEST(DetectStage, MahalanobisOnSelectedFields) {
  const Schema input({"a", "b", "c"});
  auto stage = make("detect", options_node({{"method", "mahalanobis"}, {"fields", std::vector<std::string>{"a", "c"}},
                                            {"pass", std::vector<std::string>{"b"}}, {"warmup", "200"}}),
                    input);
  ASSERT_TRUE(stage.ok()) << stage.error().message;
  EXPECT_EQ((*stage)->output_schema().names(), (std::vector<std::string>{"b", "score"}));
  testing::Noise noise(5);
  Collect out;
  for (int i = 0; i < 400; ++i) {
    const double shift = i >= 300 ? 8.0 : 0.0;
    (*stage)->process(rec(0, i, {noise.gauss(), 50 + noise.gauss(), noise.gauss() + shift}), out);
  }
  EXPECT_GT(out.records[300].f[1], 0.9);
}

TEST(DetectStage, ConfigErrors) {
  const Schema input({"v"});
  std::vector<std::string> names;
  for (std::size_t i = 0; i < kMaxFields; ++i) names.push_back("f" + std::to_string(i));
  const Schema wide(names);  // full: no room for the score
  struct Case {
    ConfigNode node;
    const Schema* input;
    const char* needle;
  };
  const Case cases[] = {
      {options_node({{"field", "nope"}}), &input, "no input field 'nope'"},
      {options_node({{"warmup", "soon"}}), &input, "count of records"},
      {options_node({{"smooth", "3"}}), &input, "applies to method: mahalanobis"},
      {options_node({{"method", "mahalanobis"}, {"levels", "4"}}), &input, "applies to method: robust"},
      {options_node({{"output", "v"}}), &input, "already an input field"},
      {options_node({{"method", "mahalanobis"}}), &wide, "fields (at most"},
      {options_node({{"method", "magic"}}), &input, "not one of"},
  };
  for (const auto& c : cases) {
    auto s = make("detect", c.node, *c.input);
    ASSERT_FALSE(s.ok()) << c.needle;
    EXPECT_NE(s.error().message.find(c.needle), std::string::npos) << s.error().message;
  }
  ConfigNode weights = options_node({});
  ConfigNode w = ConfigNode::map(testing::test_mark(3));
  w.set("level", ConfigNode::scalar("2", testing::test_mark(3)));
  w.set("vibes", ConfigNode::scalar("1", testing::test_mark(4)));
  weights.set("weights", std::move(w));
  auto s = make("detect", weights, input);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("unknown expert 'vibes'"), std::string::npos) << s.error().message;
}

class DetectSnapshots : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("edgeloop_detect_state_" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  ConfigNode node(const std::string& warmup = "100") {
    return options_node({{"warmup", warmup}, {"state_dir", dir_.string()}, {"season", "1h"}});
  }
  std::filesystem::path dir_;
};

TEST_F(DetectSnapshots, RestartContinuesExactlyWhereItStopped) {
  const Schema input({"v"});
  const auto rs = series(0, 2000, 1700, 7);
  // Uninterrupted reference.
  auto ref = make("detect", options_node({{"warmup", "100"}, {"season", "1h"}}), input);
  ASSERT_TRUE(ref.ok());
  Collect ref_out;
  for (const auto& r : rs) (*ref)->process(r, ref_out);
  // The same, stopped after 1000 records (the stage's destruction writes the snapshot) and
  // restarted from the state directory.
  Metrics metrics;
  {
    auto first = make("detect", node(), input, &metrics);
    ASSERT_TRUE(first.ok()) << first.error().message;
    Collect out;
    for (int i = 0; i < 1000; ++i) (*first)->process(rs[static_cast<std::size_t>(i)], out);
  }
  auto second = make("detect", node(), input, &metrics);
  ASSERT_TRUE(second.ok());
  auto* d = dynamic_cast<DetectStage*>(second->get());
  ASSERT_NE(d, nullptr);
  Collect out;
  for (int i = 1000; i < 2000; ++i) (*second)->process(rs[static_cast<std::size_t>(i)], out);
  EXPECT_EQ(d->restored_keys(), 1u);
  EXPECT_EQ(metrics.value("edgeloop_detect_restored_keys_total", {{"pipeline", "p"}, {"stage", "1:detect"}}), 1.0);
  for (int i = 1000; i < 2000; ++i) {
    ASSERT_EQ(out.records[static_cast<std::size_t>(i - 1000)].f[1], ref_out.records[static_cast<std::size_t>(i)].f[1]) << i;
  }
  // Without the snapshot the second run would have been warming up: 100 zeros.
  double sum = 0;
  for (int i = 0; i < 100; ++i) sum += out.records[static_cast<std::size_t>(i)].f[1];
  EXPECT_GT(sum, 0.0);
}

TEST_F(DetectSnapshots, OtherSettingsOrCorruptFilesStartFromScratch) {
  const Schema input({"v"});
  const auto rs = series(0, 500, 1 << 30, 8);
  {
    auto first = make("detect", node(), input);
    ASSERT_TRUE(first.ok());
    Collect out;
    for (const auto& r : rs) (*first)->process(r, out);
  }
  {
    auto other = make("detect", node("50"), input);  // the warm-up is not in the fingerprint...
    ASSERT_TRUE(other.ok());
    Collect out;
    (*other)->process(rs[0], out);
    EXPECT_EQ(dynamic_cast<DetectStage*>(other->get())->restored_keys(), 1u);
  }
  auto changed = make("detect", options_node({{"warmup", "100"}, {"state_dir", dir_.string()}, {"levels", "12"}}), input);
  ASSERT_TRUE(changed.ok());  // ... but the levels are: not restored
  Collect out;
  (*changed)->process(rs[0], out);
  EXPECT_EQ(dynamic_cast<DetectStage*>(changed->get())->restored_keys(), 0u);
  for (const auto& f : std::filesystem::directory_iterator(dir_)) {
    std::ofstream(f.path(), std::ios::trunc) << "corrupt";
  }
  auto after = make("detect", node(), input);
  ASSERT_TRUE(after.ok());
  (*after)->process(rs[0], out);
  EXPECT_EQ(dynamic_cast<DetectStage*>(after->get())->restored_keys(), 0u);
}

TEST_F(DetectSnapshots, PeriodicSnapshotFromTick) {
  const Schema input({"v"});
  auto stage = make("detect", options_node({{"state_dir", dir_.string()}, {"snapshot_every", "1s"}}), input);
  ASSERT_TRUE(stage.ok());
  auto* d = dynamic_cast<DetectStage*>(stage->get());
  Collect out;
  for (const auto& r : series(0, 50, 1 << 30, 9)) (*stage)->process(r, out);
  (*stage)->tick(1'000'000'000, out);  // starts the period
  EXPECT_FALSE(std::filesystem::exists(d->snapshot_path()));
  (*stage)->tick(2'500'000'000, out);  // due: written on the writer's thread
  for (int i = 0; i < 500 && !std::filesystem::exists(d->snapshot_path()); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  EXPECT_TRUE(std::filesystem::exists(d->snapshot_path()));
  EXPECT_EQ(d->snapshot_path().rfind(dir_.string() + "/p.1.detect.", 0), 0u) << d->snapshot_path();
}

TEST(HealthIndex, ConstantScoreHasNoTrend) {
  HealthSettings s;
  s.half_life_ns = 10 * kMinute;
  s.trend_ns = 60 * kMinute;
  HealthIndex h(s);
  for (int i = 0; i < 200; ++i) h.update(0.25, int64_t{i} * kMinute);
  EXPECT_DOUBLE_EQ(h.index(), 0.25);
  EXPECT_NEAR(h.trend_per_s(), 0.0, 1e-15);
  EXPECT_TRUE(std::isnan(h.time_to_threshold_s()));
}

TEST(HealthIndex, TrendAndTimeToThresholdMatchADirectWeightedFit) {
  HealthSettings s;
  s.half_life_records = 5;  // smoothing by records
  s.half_life_ns = -1;
  s.trend_ns = 30 * kMinute;
  s.threshold = 0.8;
  HealthIndex h(s);
  std::vector<double> t, y;
  double smoothed = 0;
  const double keep = std::exp(-std::log(2.0) / 5);
  for (int i = 0; i < 60; ++i) {
    const double score = 0.1 + 0.005 * i;  // rising
    h.update(score, int64_t{i} * kMinute);
    smoothed = i == 0 ? score : keep * smoothed + (1 - keep) * score;
    t.push_back(60.0 * i);
    y.push_back(smoothed);
  }
  // Weighted least squares with weights 2^(-(t_now - t)/30min), computed directly.
  double s0 = 0, s1 = 0, s2 = 0, sy = 0, sty = 0;
  for (std::size_t i = 0; i < t.size(); ++i) {
    const double w = std::pow(2.0, -(t.back() - t[i]) / 1800.0);
    s0 += w;
    s1 += w * t[i];
    s2 += w * t[i] * t[i];
    sy += w * y[i];
    sty += w * t[i] * y[i];
  }
  const double slope = (s0 * sty - s1 * sy) / (s0 * s2 - s1 * s1);
  EXPECT_NEAR(h.index(), smoothed, 1e-12);
  EXPECT_NEAR(h.trend_per_s(), slope, 1e-9 * std::fabs(slope));
  EXPECT_NEAR(h.time_to_threshold_s(), (0.8 - smoothed) / slope, 1e-6 * (0.8 - smoothed) / slope);
  EXPECT_GT(h.time_to_threshold_s(), 0.0);
  h.update(0.95, 60 * kMinute);
  for (int i = 61; i < 120; ++i) h.update(0.95, int64_t{i} * kMinute);
  EXPECT_DOUBLE_EQ(h.time_to_threshold_s(), 0.0);  // reached
}

TEST(HealthStage, AppendsFieldsAndEmitsPerPeriod) {
  const Schema input({"v", "score"});
  auto stage = make("health", options_node({{"half_life", "5m"}, {"trend", "1h"}, {"emit_every", "10m"}}), input);
  ASSERT_TRUE(stage.ok()) << stage.error().message;
  EXPECT_EQ((*stage)->output_schema().names(),
            (std::vector<std::string>{"v", "score", "health_index", "trend_per_h", "time_to_threshold_s"}));
  Collect out;
  for (int i = 0; i < 60; ++i) (*stage)->process(rec(0, int64_t{i} * kMinute, {1.0, 0.01 * i}), out);
  EXPECT_EQ(out.events.size(), 6u);  // minutes 0, 10, ..., 50
  EXPECT_EQ(out.events[1].ts_ns, 10 * kMinute);
  EXPECT_EQ(*out.events[0].name, "health");
  EXPECT_EQ(out.events[0].schema->name(2), "time_to_threshold_s");
  const Record& last = out.records.back();
  EXPECT_EQ(last.nfields, 5);
  EXPECT_GT(last.f[2], 0.4);
  EXPECT_LT(last.f[2], 0.59);
  EXPECT_NEAR(last.f[3], 0.6, 0.15);  // +0.01 per minute: about 0.6 per hour
  EXPECT_GT(last.f[4], 0.0);
  auto missing = make("health", options_node({}), Schema({"v"}));
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("no input field 'score'"), std::string::npos);
}

}  // namespace
}  // namespace edgeloop
