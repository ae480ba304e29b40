// The robust online detector for one scalar signal (one instance per key). Six "experts" each
// compute a raw statistic of the current reading:
//   level     the value itself                step      the change since the last reading
//   mean      the mean of the last few        season    the change since one season ago
//   sequence  the surprise (bits) of the reading's level after the last levels (PPM)
//   sequence_mean  the mean of that surprise over the last few readings
//   activity  the mean absolute step over the last few readings
// Each statistic is calibrated against its own recent history by a TailModel into a tail
// probability p; the surprise is the weighted sum of -log10 p over the experts (Fisher's
// combination: evidence from several views adds up, one noisy view alone stays low), and the
// score is surprise / (surprise + half), in [0, 1). A surprise that does not exceed the
// decaying peak of the recent ones is damped (one anomaly, one peak, not a burst of alarms).
#pragma once

#include <array>
#include <array>
#include <cstdint>
#include <string>

#include "models/byte_io.h"
#include "models/ring.h"
#include "models/season_buffer.h"
#include "models/sequence_model.h"
#include "models/tail_model.h"

namespace edgeloop::models {

// The defaults are the setting tuned on NAB (examples/nab.yaml adds the daily season).
struct UnivariateConfig {
  int history = 3000;        // readings each expert's calibration remembers
  int refit_every = 1024;    // refresh the calibration medians and quantiles every N readings
  double tail = 0.01;        // share of the history in each tail (k most extreme kept exactly)
  double w_level = 0.5, w_step = 1, w_mean = 1.5, w_season = 1, w_sequence = 0, w_sequence_mean = 2;
  double w_activity = 1;     // the mean |step| over the last `mean_len` readings (upper tail)
  int mean_len = 6;
  int sequence_mean_len = 5;
  int levels = 8;            // quantisation levels over the warm-up range
  int order = 1;             // context length of the sequence model
  int max_contexts = 50000;
  int64_t season_ns = 0;     // 0: no seasonal expert
  int season_points = 20000; // memory bound of the seasonal expert
  double half = 3;           // surprise that maps to score 0.5
  int suppress = 0;          // after a score >= suppress_above, N readings are damped...
  double suppress_above = 0.5;
  double suppress_factor = 0;  // ... to this share, unless they exceed it
  double peak_half_life = 100;  // >0: a surprise not above the decaying peak of past surprises
                               // (half-life in readings) is damped by suppress_factor
};

class UnivariateDetector {
 public:
  explicit UnivariateDetector(const UnivariateConfig& cfg);

  // Learns x (event time ts_ns) and returns its score. While `warming` the detector only
  // learns (score 0); the first reading after the warm-up fixes the quantisation range.
  // A NaN reading is skipped (NaN score, nothing learned).
  double update(double x, int64_t ts_ns, bool warming);
  // The surprise behind the last score (sum of -log10 p), and each expert's share of it (in
  // the order level, step, mean, season, sequence, sequence_mean, activity): what was unusual.
  double surprise() const { return surprise_; }
  static constexpr int kExperts = 7;
  const std::array<double, kExperts>& parts() const { return parts_; }
  uint64_t count() const { return n_; }

  void save(ByteWriter& w) const;
  bool load(ByteReader& r);

 private:
  double expert(TailModel& m, double v, double w, bool two_sided = true);

  UnivariateConfig cfg_;
  uint64_t n_ = 0;
  double prev_ = 0;
  double surprise_ = 0;
  std::array<double, kExperts> parts_{};
  double warm_min_ = 0, warm_max_ = 0;
  TailModel level_, step_, mean_, season_, seq_, seq_mean_, activity_;
  RingMean mean_ring_, seq_mean_ring_, activity_ring_;
  SeasonBuffer season_buf_;
  Quantizer quant_;
  SequenceModel seq_model_;
  int32_t suppress_left_ = 0;
  double last_peak_ = 0;
  double peak_ = 0;
  double peak_decay_ = 0;  // per reading
};

}  // namespace edgeloop::models
