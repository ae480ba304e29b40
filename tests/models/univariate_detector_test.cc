#include "models/univariate_detector.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "noise.h"

namespace edgeloop::models {
namespace {

using testing::kMinute;
using testing::Noise;

constexpr int kWarmup = 150;

struct Trace {
  std::vector<double> scores;
};

// Noise N(10, 1) every minute; from `step_at` on, the level is 10 + step.
Trace run(UnivariateDetector& d, int n, int step_at, double step, uint64_t seed, int from = 0) {
  Noise noise(seed);
  Trace r;
  for (int i = 0; i < n; ++i) {
    const double x = 10.0 + noise.gauss() + (i >= step_at ? step : 0.0);
    if (i < from) continue;
    r.scores.push_back(d.update(x, int64_t{i} * kMinute, i < kWarmup));
  }
  return r;
}

TEST(UnivariateDetector, WarmupScoresZero) {
  UnivariateDetector d{UnivariateConfig{}};
  const Trace r = run(d, 400, 1 << 30, 0, 1);
  for (int i = 0; i < kWarmup; ++i) ASSERT_EQ(r.scores[static_cast<std::size_t>(i)], 0.0) << i;
  EXPECT_EQ(d.count(), 400u);
}

TEST(UnivariateDetector, StationaryNoiseScoresLow) {
  UnivariateDetector d{UnivariateConfig{}};
  const Trace r = run(d, 4000, 1 << 30, 0, 2);
  std::vector<double> after(r.scores.begin() + 600, r.scores.end());
  std::sort(after.begin(), after.end());
  EXPECT_LT(after[after.size() / 2], 0.35);             // the median
  EXPECT_LT(after[after.size() * 99 / 100], 0.75);     // the 99th percentile
  EXPECT_LT(after.back(), 0.85);                        // nothing at the level of a real anomaly
}

TEST(UnivariateDetector, StepChangeScoresHighAfterWarmup) {
  UnivariateDetector d{UnivariateConfig{}};
  const Trace r = run(d, 3000, 2000, 8.0, 3);
  double before = 0;
  for (int i = 600; i < 2000; ++i) before = std::max(before, r.scores[static_cast<std::size_t>(i)]);
  double at_step = 0;
  for (int i = 2000; i < 2005; ++i) at_step = std::max(at_step, r.scores[static_cast<std::size_t>(i)]);
  EXPECT_GT(at_step, 0.9);
  EXPECT_GT(at_step, before + 0.05);
}

TEST(UnivariateDetector, NaNIsSkipped) {
  UnivariateDetector d{UnivariateConfig{}};
  (void)run(d, 300, 1 << 30, 0, 4);
  EXPECT_TRUE(std::isnan(d.update(std::nan(""), 300 * kMinute, false)));
  EXPECT_EQ(d.count(), 300u);
}

TEST(UnivariateDetector, SnapshotRestoreGivesIdenticalScores) {
  UnivariateConfig cfg;
  cfg.season_ns = 60 * kMinute;  // every expert on
  UnivariateDetector a(cfg);
  // The first 1500 readings, then a copy through save/load, then both see the same 1500 more.
  Noise noise(5);
  std::vector<double> xs;
  for (int i = 0; i < 3000; ++i) xs.push_back(10 + noise.gauss() + (i >= 2200 ? 6.0 : 0.0) + std::sin(i * 0.1));
  for (int i = 0; i < 1500; ++i) (void)a.update(xs[static_cast<std::size_t>(i)], int64_t{i} * kMinute, i < kWarmup);
  ByteWriter w;
  a.save(w);
  const std::string blob = w.take();
  UnivariateDetector b(cfg);
  ByteReader r(blob);
  ASSERT_TRUE(b.load(r));
  EXPECT_TRUE(r.done());
  for (int i = 1500; i < 3000; ++i) {
    const double sa = a.update(xs[static_cast<std::size_t>(i)], int64_t{i} * kMinute, false);
    const double sb = b.update(xs[static_cast<std::size_t>(i)], int64_t{i} * kMinute, false);
    ASSERT_EQ(sa, sb) << "row " << i;
  }
  // A second save of both is byte-identical.
  ByteWriter wa, wb;
  a.save(wa);
  b.save(wb);
  EXPECT_EQ(wa.out(), wb.out());
}

TEST(UnivariateDetector, CorruptStateIsRefused) {
  UnivariateDetector a{UnivariateConfig{}};
  (void)run(a, 500, 1 << 30, 0, 6);
  ByteWriter w;
  a.save(w);
  std::string blob = w.take();
  UnivariateDetector b{UnivariateConfig{}};
  ByteReader truncated(std::string_view(blob).substr(0, blob.size() / 2));
  EXPECT_FALSE(b.load(truncated));
  blob[0] = 99;  // another state version
  ByteReader wrong(blob);
  EXPECT_FALSE(b.load(wrong));
}

}  // namespace
}  // namespace edgeloop::models
