// The online detector for feature vectors (one instance per key): during the warm-up it
// learns the healthy mean and covariance (Welford); after it, the squared Mahalanobis distance
// of each (optionally smoothed) vector from that baseline is calibrated against the distances
// of the warm-up vectors themselves (empirical, exponential beyond the largest) into a tail
// probability, and the score is surprise / (surprise + half) with surprise = -log10 p.
// The mean may follow slow drift (`adapt`), but only while the score stays low, so that a
// lasting fault is not learned as the new normal. The covariance is shrunk towards its
// diagonal: a few hundred warm-up vectors do not pin down every correlation.
#pragma once

#include <cstdint>
#include <vector>

#include "models/byte_io.h"
#include "models/tail_model.h"

namespace edgeloop::models {

struct MultivariateConfig {
  int history = 2000;        // distances the calibration keeps
  double tail = 0.02;
  double shrink = 0.01;      // covariance shrinkage towards the diagonal, 0..1
  double smooth = 1;         // exponential smoothing of the input, in vectors (1: none)
  double adapt = 0;          // after the warm-up, the mean follows x with this rate (0: frozen)
  double adapt_below = 0.5;  // ... only while the score is below this
  bool calibrate_online = false;  // keep adding distances to the calibration after the warm-up
  double half = 3;
};

class MultivariateDetector {
 public:
  MultivariateDetector(const MultivariateConfig& cfg, int dims);

  // Learns / scores one vector of `dims` values. While `warming` it only learns (score 0).
  // A vector with a NaN is skipped (NaN score).
  double update(const double* x, int64_t ts_ns, bool warming);
  double distance() const { return d2_; }  // the last squared distance
  int dims() const { return d_; }

  void save(ByteWriter& w) const;
  bool load(ByteReader& r);

 private:
  void finish_warmup();
  double mahalanobis2(const double* x) const;

  MultivariateConfig cfg_;
  int d_;
  uint64_t n_ = 0;          // vectors learned in the warm-up
  std::vector<double> mean_, m2_;   // Welford: mean and co-moment matrix (d x d)
  std::vector<double> inv_;         // inverse covariance (d x d), after the warm-up
  std::vector<double> smoothed_;
  bool smoothed_init_ = false;
  bool ready_ = false;
  std::vector<double> warm_;        // the warm-up vectors (bounded by history), to seed the calibration
  TailModel calib_;
  double d2_ = 0;
  std::vector<double> tmp_;
};

}  // namespace edgeloop::models
