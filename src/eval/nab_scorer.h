// NAB scoring (Numenta Anomaly Benchmark), reimplemented from the rules that
// shared/data/nab/README.md states: probation, windows, the scaled sigmoid, per-profile
// weights, one threshold per corpus chosen by sweeping every distinct score, and the
// normalisation between the null and the perfect detector.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/result.h"
#include "eval/nab_corpus.h"

namespace edgeloop::eval {

struct NabProfile {
  std::string name;
  double a_tp = 1.0;
  double a_fp = 0.11;
  double a_fn = 1.0;
};

// standard, reward_low_FP_rate, reward_low_FN_rate (NAB's config/profiles.json).
const std::vector<NabProfile>& nab_profiles();
// Reads a profiles.json ({"name": {"CostMatrix": {"tpWeight", "fpWeight", "fnWeight"}}}).
Result<std::vector<NabProfile>> load_nab_profiles(const std::string& path);

// 2 / (1 + exp(5x)) - 1, and -1 from x >= 3 on.
double nab_scaled_sigmoid(double x);
// Rows at the start of a file that are not scored: min(floor(0.15 rows), 750).
std::size_t nab_probation_rows(std::size_t rows);

// What a detection on each row of a file is worth, before the profile's weights.
struct NabSweep {
  std::size_t rows = 0;
  std::size_t probation = 0;
  std::size_t n_windows = 0;       // windows with a row after the probation
  std::size_t all_windows = 0;     // every window of the file
  std::vector<int32_t> window;     // per row: its window (index), or -1 outside every window
  std::vector<double> value;       // in a window: sigma(p) / sigma(-1); outside: sigma(q) or -1 (<= 0)
};
NabSweep nab_sweep(std::size_t rows, const std::vector<RowWindow>& windows);

struct NabCounts {
  std::size_t tp = 0, tn = 0, fp = 0, fn = 0;  // rows after the probation
};

struct NabFileScore {
  double raw = 0;
  NabCounts counts;
  std::size_t windows = 0;
  std::size_t windows_detected = 0;
  std::vector<std::size_t> first_detection;  // per window: the row of its earliest detection, or SIZE_MAX
};

// Scores one file at `threshold`: a row is a detection when its score >= threshold.
NabFileScore nab_score_file(const NabSweep& sweep, const std::vector<double>& scores, double threshold,
                            const NabProfile& profile);

struct NabThreshold {
  double threshold = 1.1;  // 1.1: nothing is detected
  double raw = 0;
};
// Sweeps every distinct score of the pooled rows (probation excluded), highest first, and
// returns the threshold with the highest corpus raw score (the higher threshold on a tie).
NabThreshold nab_optimize_threshold(const std::vector<NabSweep>& sweeps, const std::vector<std::vector<double>>& scores,
                                    const NabProfile& profile);

// 100 (raw - raw_null) / (raw_perfect - raw_null), raw_null = -A_FN N, raw_perfect = A_TP N.
double nab_normalize(double raw, std::size_t n_windows, const NabProfile& profile);

struct NabProfileResult {
  NabProfile profile;
  double threshold = 0;
  double raw = 0;
  double score = 0;  // normalised
  std::vector<NabFileScore> files;
};
// The whole procedure for one profile: optimise the threshold, score every file with it,
// normalise. `sweeps` and `scores` are per file, in the same order.
NabProfileResult nab_score_corpus(const std::vector<NabSweep>& sweeps, const std::vector<std::vector<double>>& scores,
                                  const NabProfile& profile);
// The same at a given threshold (no optimisation).
NabProfileResult nab_score_corpus_at(const std::vector<NabSweep>& sweeps, const std::vector<std::vector<double>>& scores,
                                     const NabProfile& profile, double threshold);

}  // namespace edgeloop::eval
