// The aggregates a window computes (mean, min, max, sum, count, stddev, first, last, rate) and
// the accumulator they are computed from. Shared by count and time windows.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <string_view>

namespace edgeloop {

enum class Agg : uint8_t { kMean, kMin, kMax, kSum, kCount, kStddev, kFirst, kLast, kRate };

inline constexpr std::string_view kAggNames[] = {"mean", "min", "max", "sum", "count", "stddev", "first", "last", "rate"};

// Parses an aggregate name; false when unknown.
bool parse_agg(std::string_view name, Agg& out);
std::string_view agg_name(Agg a);

inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// What every aggregate of one field of one window is derived from.
struct Summary {
  uint64_t n = 0;
  double sum = 0;
  double var = kNaN;  // sample variance; NaN below two readings
  double min = kNaN;  // NaN readings are ignored by min and max
  double max = kNaN;
  double first = kNaN;
  double last = kNaN;
  int64_t first_ts = 0;
  int64_t last_ts = 0;
};

// One aggregate of a summary. rate is (last - first) per second of event time between the first
// and the last reading: NaN when they are at the same time (one reading).
inline double agg_value(Agg a, const Summary& s) {
  switch (a) {
    case Agg::kMean: return s.n ? s.sum / static_cast<double>(s.n) : kNaN;
    case Agg::kMin: return s.min;
    case Agg::kMax: return s.max;
    case Agg::kSum: return s.sum;
    case Agg::kCount: return static_cast<double>(s.n);
    case Agg::kStddev: return s.var >= 0 ? std::sqrt(s.var) : (s.var < 0 ? 0.0 : kNaN);
    case Agg::kFirst: return s.first;
    case Agg::kLast: return s.last;
    case Agg::kRate:
      return s.last_ts > s.first_ts ? (s.last - s.first) / (static_cast<double>(s.last_ts - s.first_ts) * 1e-9) : kNaN;
  }
  return kNaN;
}

// Running aggregate of one field over a set of readings that only grows (a tumbling window, a
// pane of a time window). Welford's mean/M2 (for stddev) merge exactly across panes.
struct FieldAcc {
  double sum = 0;
  double mean = 0;
  double m2 = 0;
  double min = kNaN;
  double max = kNaN;
  double first = kNaN;
  double last = kNaN;

  void reset() { *this = FieldAcc{}; }
  // `n` is the count including x.
  void add(double x, uint64_t n, bool welford) {
    sum += x;
    if (welford) {
      const double d = x - mean;
      mean += d / static_cast<double>(n);
      m2 += d * (x - mean);
    }
    min = std::fmin(min, x);
    max = std::fmax(max, x);
  }
};

// Folds accumulators of disjoint readings into a Summary, in time order (Chan et al.'s
// pairwise update for the variance).
class SummaryBuilder {
 public:
  void add(const FieldAcc& a, uint64_t n, int64_t first_ts, int64_t last_ts) {
    if (n == 0) return;
    if (s_.n == 0) {
      s_.first = a.first;
      s_.first_ts = first_ts;
      mean_ = a.mean;
      m2_ = a.m2;
    } else {
      const double na = static_cast<double>(s_.n), nb = static_cast<double>(n);
      const double d = a.mean - mean_;
      mean_ += d * nb / (na + nb);
      m2_ += a.m2 + d * d * na * nb / (na + nb);
    }
    s_.n += n;
    s_.sum += a.sum;
    s_.min = std::fmin(s_.min, a.min);
    s_.max = std::fmax(s_.max, a.max);
    s_.last = a.last;
    s_.last_ts = last_ts;
  }
  Summary finish() {
    s_.var = s_.n >= 2 ? m2_ / static_cast<double>(s_.n - 1) : kNaN;
    return s_;
  }

 private:
  Summary s_;
  double mean_ = 0;
  double m2_ = 0;
};

}  // namespace edgeloop
