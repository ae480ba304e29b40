#include <gtest/gtest.h>

#include <cmath>

#include "models/sequence_model.h"
#include "models/tail_model.h"
#include "noise.h"

namespace edgeloop::models {
namespace {

TEST(TailModel, EmpiricalTailAndExponentialBeyond) {
  TailModel m(100, 1, 0.1);  // k = 10 of 100; the median refreshed on every value
  for (int i = 1; i <= 100; ++i) m.push(i);
  // Inside the tail: the share of the history at least as extreme, over n + 1.
  EXPECT_DOUBLE_EQ(m.p_upper(100), 1.0 / 101);
  EXPECT_DOUBLE_EQ(m.p_upper(95.5), 5.0 / 101);
  EXPECT_DOUBLE_EQ(m.p_lower(1), 1.0 / 101);
  EXPECT_DOUBLE_EQ(m.p_lower(3), 3.0 / 101);
  // Beyond the maximum: exponential, scale = mean excess of the 10 largest over the 10th (4.5).
  EXPECT_DOUBLE_EQ(m.p_upper(109), 1.0 / 101 * std::exp(-9.0 / 4.5));
  // The bulk: the share of the 129 quantiles at or above the value.
  EXPECT_DOUBLE_EQ(m.p_upper(20), 104.0 / 129);
  EXPECT_DOUBLE_EQ(m.p_upper(-5), 1.0);
}

TEST(TailModel, TiesAtTheTailAreNotRare) {
  // Quantised data: a third of the history sits on the lowest value.
  TailModel m(300, 1, 0.02);
  for (int i = 0; i < 300; ++i) m.push(i % 3 == 0 ? 0.066 : 0.134 + 0.01 * (i % 7));
  EXPECT_GT(m.p_lower(0.066), 0.3);
  EXPECT_LT(m.p_lower(0.0), 1.0 / 301);
}

TEST(TailModel, OldValuesLeaveTheHistory) {
  TailModel m(50, 1000, 0.1);
  for (int i = 0; i < 50; ++i) m.push(1000);  // an old burst
  for (int i = 0; i < 50; ++i) m.push(i);     // pushes all of it out
  EXPECT_DOUBLE_EQ(m.p_upper(49), 1.0 / 51);
  EXPECT_LT(m.p_upper(1000), 1e-10);
}

TEST(TailModel, ExactTailsAfterManyExpiries) {
  // The incremental tails against a brute-force count, on a trending signal (tails expire fast).
  testing::Noise noise(9);
  TailModel m(200, 64, 0.05);
  std::vector<double> all;
  for (int i = 0; i < 3000; ++i) {
    const double v = noise.gauss() - 0.01 * i;
    all.push_back(v);
    m.push(v);
    if (i % 97 != 0 || i < 300) continue;
    const std::vector<double> hist(all.end() - 200, all.end());
    std::vector<double> sorted = hist;
    std::sort(sorted.begin(), sorted.end());
    const double probe = sorted[198];  // the second largest: inside the tail
    const auto at_least = std::count_if(hist.begin(), hist.end(), [&](double x) { return x >= probe; });
    ASSERT_DOUBLE_EQ(m.p_upper(probe), static_cast<double>(at_least) / 201) << i;
    const double low = sorted[2];
    const auto at_most = std::count_if(hist.begin(), hist.end(), [&](double x) { return x <= low; });
    ASSERT_DOUBLE_EQ(m.p_lower(low), static_cast<double>(at_most) / 201) << i;
  }
}

TEST(SequenceModel, RepeatedPatternBecomesPredictableAndABreakIsSurprising) {
  SequenceModel m(2, 16, 1000);
  const int32_t pattern[] = {0, 0, 5, 7, 5, 0};
  double first = 0, later = 0;
  for (int rep = 0; rep < 50; ++rep) {
    double s = 0;
    for (int32_t sym : pattern) s += m.observe(sym);
    if (rep == 0) first = s;
    if (rep == 49) later = s;
  }
  EXPECT_GT(first, 15.0);
  EXPECT_LT(later, 3.0);  // "0 0" is followed by 0 and by 5: about a bit each time
  (void)m.observe(0);
  (void)m.observe(0);
  EXPECT_GT(m.observe(9), 8.0);  // never seen: escapes down to order 0 and out
  EXPECT_LE(m.contexts(), 1000u);
}

TEST(SequenceModel, BoundedContexts) {
  SequenceModel m(3, 64, 20);
  testing::Noise noise(1);
  for (int i = 0; i < 2000; ++i) (void)m.observe(static_cast<int32_t>(noise.uniform() * 30));
  EXPECT_EQ(m.contexts(), 20u);
}

TEST(Quantizer, LevelsAndLogBeyondTheRange) {
  Quantizer q;
  q.set(0.0, 8.0, 8);  // width 1
  EXPECT_EQ(q.level(0.5), 0);
  EXPECT_EQ(q.level(7.9), 7);
  EXPECT_EQ(q.level(8.5), 8);    // 1 + log2(1.5) -> 8
  EXPECT_EQ(q.level(11.0), 10);  // 8 + floor(log2(4))
  EXPECT_EQ(q.level(-0.5), -1);
  EXPECT_EQ(q.level(-3.0), -3);  // -1 - floor(log2(4))
  Quantizer flat;
  flat.set(5.0, 5.0, 8);  // a flat warm-up still gets a finite width
  EXPECT_EQ(flat.level(5.0), 0);
  EXPECT_GT(flat.level(5.1), 7);
}

}  // namespace
}  // namespace edgeloop::models
