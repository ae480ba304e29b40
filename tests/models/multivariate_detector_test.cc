#include "models/multivariate_detector.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "noise.h"

namespace edgeloop::models {
namespace {

using testing::Noise;

// 3 correlated sensors: a, b = a + noise, c independent.
std::vector<std::array<double, 3>> signal(int n, int shift_at, double shift, uint64_t seed) {
  Noise noise(seed);
  std::vector<std::array<double, 3>> out;
  for (int i = 0; i < n; ++i) {
    const double a = 5 + noise.gauss();
    const double b = a + 0.3 * noise.gauss();
    const double c = 100 + 2 * noise.gauss() + (i >= shift_at ? shift : 0.0);
    out.push_back({a, b, c});
  }
  return out;
}

TEST(MultivariateDetector, ShiftInOneSensorScoresHighNoiseLow) {
  MultivariateConfig cfg;
  cfg.smooth = 5;
  MultivariateDetector d(cfg, 3);
  const auto xs = signal(1500, 1000, 10.0, 1);
  std::vector<double> s;
  for (int i = 0; i < 1500; ++i) s.push_back(d.update(xs[static_cast<std::size_t>(i)].data(), i, i < 400));
  for (int i = 0; i < 400; ++i) ASSERT_EQ(s[static_cast<std::size_t>(i)], 0.0);
  std::vector<double> quiet(s.begin() + 400, s.begin() + 1000);
  std::sort(quiet.begin(), quiet.end());
  EXPECT_LT(quiet[quiet.size() / 2], 0.3);
  EXPECT_LT(quiet[quiet.size() * 99 / 100], 0.8);
  double shifted = 1;
  for (int i = 1010; i < 1500; ++i) shifted = std::min(shifted, s[static_cast<std::size_t>(i)]);
  // Every vector after the shift (and the smoothing) scores above every quiet one.
  EXPECT_GT(shifted, quiet.back());
  EXPECT_GT(shifted, 0.7);
}

TEST(MultivariateDetector, BrokenCorrelationIsSeenThoughEachSensorIsInRange) {
  MultivariateConfig cfg;
  MultivariateDetector d(cfg, 3);
  const auto xs = signal(400, 1 << 30, 0, 2);
  for (int i = 0; i < 400; ++i) (void)d.update(xs[static_cast<std::size_t>(i)].data(), i, true);
  const double normal[3] = {6.0, 6.1, 100.0};
  const double broken[3] = {6.0, 4.0, 100.0};  // b far from a: each value is common on its own
  EXPECT_LT(d.update(normal, 400, false), 0.3);
  EXPECT_GT(d.update(broken, 401, false), 0.7);
}

TEST(MultivariateDetector, AdaptsToSlowDriftOnlyWhileTheScoreIsLow) {
  MultivariateConfig cfg;
  cfg.adapt = 0.02;
  MultivariateDetector adaptive(cfg, 3), frozen(MultivariateConfig{}, 3);
  Noise noise(3);
  double last_a = 0, last_f = 0;
  for (int i = 0; i < 3000; ++i) {
    const double drift = i < 400 ? 0.0 : 0.008 * (i - 400);  // +20 (10 sigma) over 2600 records, slowly
    const double a = 5 + noise.gauss();
    const double x[3] = {a, a + 0.3 * noise.gauss(), 100 + 2 * noise.gauss() + drift};
    last_a = adaptive.update(x, i, i < 400);
    last_f = frozen.update(x, i, i < 400);
  }
  EXPECT_GT(last_f, 0.7);  // frozen: the drift looks like a fault
  EXPECT_LT(last_a, 0.4);  // adaptive: followed
}

TEST(MultivariateDetector, SnapshotRestoreGivesIdenticalScores) {
  MultivariateConfig cfg;
  cfg.smooth = 3;
  cfg.adapt = 0.01;
  MultivariateDetector a(cfg, 3);
  const auto xs = signal(1200, 900, 6.0, 4);
  for (int i = 0; i < 600; ++i) (void)a.update(xs[static_cast<std::size_t>(i)].data(), i, i < 400);
  ByteWriter w;
  a.save(w);
  const std::string blob = w.take();
  MultivariateDetector b(cfg, 3);
  ByteReader r(blob);
  ASSERT_TRUE(b.load(r));
  EXPECT_TRUE(r.done());
  for (int i = 600; i < 1200; ++i) {
    ASSERT_EQ(a.update(xs[static_cast<std::size_t>(i)].data(), i, false), b.update(xs[static_cast<std::size_t>(i)].data(), i, false))
        << "row " << i;
  }
  MultivariateDetector other_dims(cfg, 4);
  ByteReader r2(blob);
  EXPECT_FALSE(other_dims.load(r2));
}

TEST(MultivariateDetector, ConstantSensorAndNaN) {
  MultivariateDetector d(MultivariateConfig{}, 2);
  Noise noise(5);
  for (int i = 0; i < 100; ++i) {
    const double x[2] = {1 + noise.gauss(), 7.0};  // the second never moves
    (void)d.update(x, i, true);
  }
  const double same[2] = {1.0, 7.0}, moved[2] = {1.0, 7.5}, nan[2] = {std::nan(""), 7.0};
  EXPECT_LT(d.update(same, 100, false), 0.5);
  EXPECT_GT(d.update(moved, 101, false), 0.95);
  EXPECT_TRUE(std::isnan(d.update(nan, 102, false)));
}

}  // namespace
}  // namespace edgeloop::models
