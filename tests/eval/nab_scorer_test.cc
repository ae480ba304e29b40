// NAB scoring on hand-made files with exact expected values (computed from the rules in
// shared/data/nab/README.md: sigma(x) = 2 / (1 + exp(5x)) - 1, credit sigma(p) / sigma(-1)).
#include <gtest/gtest.h>

#include <cmath>

#include "eval/nab_scorer.h"

namespace edgeloop::eval {
namespace {

const NabProfile kStandard = nab_profiles()[0];
const NabProfile kLowFp = nab_profiles()[1];
const NabProfile kLowFn = nab_profiles()[2];

// 100 rows (probation: the first 15), one window on rows 40..49.
NabSweep sweep100() { return nab_sweep(100, {{40, 49}}); }

std::vector<double> scores_with(std::initializer_list<std::pair<std::size_t, double>> at) {
  std::vector<double> s(100, 0.0);
  for (const auto& [i, v] : at) s[i] = v;
  return s;
}

TEST(NabScorer, ScaledSigmoid) {
  EXPECT_DOUBLE_EQ(nab_scaled_sigmoid(-1.0), 0.9866142981514305);
  EXPECT_DOUBLE_EQ(nab_scaled_sigmoid(0.0), 0.0);
  EXPECT_DOUBLE_EQ(nab_scaled_sigmoid(3.0), -1.0);
  EXPECT_DOUBLE_EQ(nab_scaled_sigmoid(5.0), -1.0);
}

TEST(NabScorer, Probation) {
  EXPECT_EQ(nab_probation_rows(100), 15u);
  EXPECT_EQ(nab_probation_rows(4032), 604u);
  EXPECT_EQ(nab_probation_rows(10000), 750u);
  EXPECT_EQ(nab_probation_rows(1126), 168u);
}

TEST(NabScorer, DetectionOnTheFirstRowOfAWindowEarnsExactlyATp) {
  const auto r = nab_score_file(sweep100(), scores_with({{40, 1.0}}), 0.5, kStandard);
  EXPECT_DOUBLE_EQ(r.raw, 1.0);
  EXPECT_EQ(r.windows, 1u);
  EXPECT_EQ(r.windows_detected, 1u);
  EXPECT_EQ(r.first_detection[0], 40u);
  EXPECT_EQ(r.counts.tp, 1u);
  EXPECT_EQ(r.counts.fn, 9u);
  EXPECT_EQ(r.counts.fp, 0u);
  EXPECT_EQ(r.counts.tn, 75u);  // 85 scored rows
}

TEST(NabScorer, OnlyTheEarliestDetectionInAWindowCounts) {
  const auto r = nab_score_file(sweep100(), scores_with({{45, 0.9}, {47, 0.9}}), 0.5, kStandard);
  EXPECT_DOUBLE_EQ(r.raw, 0.8597925669097837);  // p = -0.5
  EXPECT_EQ(r.counts.tp, 2u);
  const auto last = nab_score_file(sweep100(), scores_with({{49, 0.9}}), 0.5, kStandard);
  EXPECT_DOUBLE_EQ(last.raw, 0.24824154977542992);  // p = -1/10
}

TEST(NabScorer, FalsePositivesAndMisses) {
  // Before any window: the full A_FP; the window missed: -A_FN.
  EXPECT_DOUBLE_EQ(nab_score_file(sweep100(), scores_with({{20, 0.9}}), 0.5, kStandard).raw, -1.11);
  EXPECT_DOUBLE_EQ(nab_score_file(sweep100(), scores_with({{20, 0.9}}), 0.5, kLowFp).raw, -1.22);
  EXPECT_DOUBLE_EQ(nab_score_file(sweep100(), scores_with({{20, 0.9}}), 0.5, kLowFn).raw, -2.11);
  // After the window: sigma((i - 49) / 9) x A_FP.
  EXPECT_DOUBLE_EQ(nab_score_file(sweep100(), scores_with({{40, 1.0}, {52, 0.9}}), 0.5, kStandard).raw,
                   1.0 + 0.11 * -0.6822617902381697);
  EXPECT_DOUBLE_EQ(nab_score_file(sweep100(), scores_with({{40, 1.0}, {60, 0.9}}), 0.5, kStandard).raw,
                   1.0 + 0.11 * -0.995573648215434);
  // Every detection outside counts: a burst of three costs three times.
  EXPECT_DOUBLE_EQ(nab_score_file(sweep100(), scores_with({{20, 0.9}, {21, 0.9}, {22, 0.9}}), 0.5, kStandard).raw,
                   -1.0 - 3 * 0.11);
}

TEST(NabScorer, ProbationRowsAreNotScored) {
  const auto r = nab_score_file(sweep100(), scores_with({{10, 1.0}}), 0.5, kStandard);
  EXPECT_DOUBLE_EQ(r.raw, -1.0);
  EXPECT_EQ(r.counts.fp, 0u);
  EXPECT_EQ(r.counts.tp + r.counts.fp + r.counts.fn + r.counts.tn, 85u);
}

TEST(NabScorer, ThresholdIsInclusive) {
  EXPECT_DOUBLE_EQ(nab_score_file(sweep100(), scores_with({{40, 0.5}}), 0.5, kStandard).raw, 1.0);
  EXPECT_DOUBLE_EQ(nab_score_file(sweep100(), scores_with({{40, 0.4999}}), 0.5, kStandard).raw, -1.0);
}

TEST(NabScorer, Normalisation) {
  EXPECT_DOUBLE_EQ(nab_normalize(-2.0, 2, kStandard), 0.0);    // the null detector
  EXPECT_DOUBLE_EQ(nab_normalize(2.0, 2, kStandard), 100.0);   // the perfect one
  EXPECT_DOUBLE_EQ(nab_normalize(0.0, 2, kStandard), 50.0);
  EXPECT_DOUBLE_EQ(nab_normalize(-4.0, 2, kLowFn), 0.0);       // raw_null = -A_FN N
  EXPECT_DOUBLE_EQ(nab_normalize(1.0, 2, kLowFn), 5.0 / 6.0 * 100.0);
}

TEST(NabScorer, OptimisedThresholdAcrossFiles) {
  // File 1: an FP at 0.95 before the window, the window's first row at 0.9, a later row of the
  // window at 0.8 (adds nothing: a tie, so the higher threshold wins), an FP at 0.7 far after.
  // File 2: no window, one FP at 0.6.
  std::vector<NabSweep> sweeps = {sweep100(), nab_sweep(100, {})};
  std::vector<std::vector<double>> scores = {scores_with({{20, 0.95}, {40, 0.9}, {45, 0.8}, {90, 0.7}}),
                                             scores_with({{30, 0.6}})};
  const NabThreshold t = nab_optimize_threshold(sweeps, scores, kStandard);
  EXPECT_DOUBLE_EQ(t.threshold, 0.9);
  EXPECT_DOUBLE_EQ(t.raw, 1.0 - 0.11);
  const auto r = nab_score_corpus(sweeps, scores, kStandard);
  EXPECT_DOUBLE_EQ(r.threshold, 0.9);
  EXPECT_DOUBLE_EQ(r.raw, 0.89);
  EXPECT_DOUBLE_EQ(r.score, nab_normalize(0.89, 1, kStandard));
  EXPECT_DOUBLE_EQ(r.score, 94.5);
  // Nothing worth detecting: the threshold stays above every score.
  const auto none = nab_optimize_threshold({nab_sweep(100, {})}, {scores_with({{30, 0.6}})}, kStandard);
  EXPECT_DOUBLE_EQ(none.threshold, 1.1);
  EXPECT_DOUBLE_EQ(none.raw, 0.0);
}

TEST(NabScorer, OverlappingWindowTakesOverFromItsFirstRow) {
  // Windows 30..49 and 40..59: from row 40 on, the second window.
  const NabSweep s = nab_sweep(100, {{30, 49}, {40, 59}});
  EXPECT_EQ(s.window[35], 0);
  EXPECT_EQ(s.window[45], 1);
  EXPECT_EQ(s.window[60], -1);
  EXPECT_EQ(s.n_windows, 2u);
}

}  // namespace
}  // namespace edgeloop::eval
