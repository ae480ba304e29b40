// Calibrates a raw statistic against its own recent history: the probability of a value at
// least as extreme (upper or lower tail). Empirical inside the history's tail; beyond the most
// extreme value seen, an exponential decay whose scale is the mean excess of the tail (peaks
// over threshold), so that a value past everything seen still gets a finite, comparable
// probability. The tails are refitted every `every` values (selection, O(history)).
#pragma once

#include <cstddef>
#include <vector>

#include "models/byte_io.h"
#include "models/ring.h"

namespace edgeloop::models {

class TailModel {
 public:
  TailModel() = default;
  TailModel(std::size_t capacity, std::size_t every, double tail_fraction);

  void push(double v);
  std::size_t size() const { return ring_.size(); }
  // P(X >= v) and P(X <= v) under the model of the history; 1 before any history.
  double p_upper(double v) const { return upper_.p(v); }
  double p_lower(double v) const { return lower_.p(-v); }
  double median() const { return median_; }

  void save(ByteWriter& w) const;
  bool load(ByteReader& r);

 private:
  // One tail, oriented so that larger is more extreme.
  struct Tail {
    double med = 0;           // p = 0.5 here
    double u = 0;             // the k-th most extreme value: p = k / (n + 1) here
    double pu = 1;
    double beta = 1;          // the scale of the exponential beyond the maximum
    double inv_n1 = 1;        // 1 / (n + 1)
    std::vector<double> top;  // the k most extreme values, ascending
    double p(double v) const;
  };
  void refit();
  void fit(Tail& t, std::size_t first, std::size_t last, std::size_t n, double sign);

  std::size_t every_ = 1;
  double frac_ = 0.02;
  std::size_t since_ = 0;
  Ring ring_;
  std::vector<double> scratch_;
  double median_ = 0;
  Tail upper_, lower_;
};

}  // namespace edgeloop::models
