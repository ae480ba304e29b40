// A robust online detector for one scalar signal (per key). Several "experts" each compute a
// raw statistic of the current reading (level, step, seasonal residual, short mean), and each
// statistic is calibrated against its own recent history by a TailModel into a tail
// probability. The surprise is -log10 of the smallest probability (Bonferroni-corrected);
// the score maps a probability of 1e-10 to 1. Calibration makes a score mean the same on a
// quiet and on a spiky signal, which one threshold across keys needs.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "models/sequence_model.h"
#include "models/tail_model.h"

namespace edgeloop::models {

struct UnivariateParams {
  int warmup = 150;        // records before the first score (the healthy baseline)
  int hist = 2000;         // history of every statistic
  int every = 16;          // refit the tails every N records
  double tail = 0.02;      // fraction of the history in the fitted tail
  double w_level = 1.0;    // expert weights (0: off)
  double w_diff = 1.0;
  double w_season = 0.0;
  double w_mean = 0.0;
  double w_seq = 0.0;
  int seq_order = 4;
  int seq_levels = 8;
  int season = 0;          // season length in records (0: none)
  int mean_len = 6;        // short mean length
  int combine = 0;         // 0: max of the experts' surprises, 1: sum
  int suppress = 0;        // after a score above `suppress_above`, damp the next N records
  double suppress_above = 0.5;
  double half = 10;        // surprise (sum of -log10 p) that maps to score 0.5
};

class UnivariateDetector {
 public:
  explicit UnivariateDetector(const UnivariateParams& p);
  double update(double x, int64_t ts_ns);

 private:
  double expert(TailModel& m, double v, double w, bool two_sided);

  UnivariateParams p_;
  int64_t n_ = 0;
  double prev_ = 0;
  TailModel level_, diff_, season_, mean_;
  TailModel seq_tail_;
  SequenceModel seq_;
  Quantizer quant_;
  std::vector<double> warm_;
  std::vector<double> season_ring_;
  std::size_t season_head_ = 0;
  std::vector<double> mean_ring_;
  std::size_t mean_head_ = 0;
  double mean_sum_ = 0;
  int suppress_left_ = 0;
  double last_peak_ = 0;
};

// Sets a parameter by name (for tuning tools); false when unknown.
bool set_univariate_param(UnivariateParams& p, const std::string& name, double value);

}  // namespace edgeloop::models
