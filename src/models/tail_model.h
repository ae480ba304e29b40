// Calibrates a raw statistic against its own recent history: the probability of a value at
// least as extreme (upper or lower tail), empirical in the bulk and, beyond the k-th most
// extreme value, an exponential tail fitted to the exceedances (peaks over threshold), so that
// a value past everything seen so far still gets a finite, comparable probability.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

namespace edgeloop::models {

class TailModel {
 public:
  TailModel() = default;
  TailModel(std::size_t capacity, std::size_t every, double tail_fraction)
      : cap_(capacity), every_(std::max<std::size_t>(every, 1)), frac_(tail_fraction) {
    ring_.reserve(cap_);
  }

  void push(double v) {
    if (ring_.size() < cap_) {
      ring_.push_back(v);
    } else {
      ring_[head_] = v;
      head_ = (head_ + 1) % cap_;
    }
    if (++since_ >= every_ || ring_.size() <= 32) refit();
  }
  std::size_t size() const { return ring_.size(); }
  // P(X >= v) (upper) or P(X <= v) (lower) under the model of the history; 1 with no history.
  double p_upper(double v) const { return upper_.p(v); }
  double p_lower(double v) const { return lower_.p(-v); }
  double median() const { return median_; }

  // Raw access for snapshots.
  const std::vector<double>& ring() const { return ring_; }
  std::size_t head() const { return head_; }
  std::size_t since() const { return since_; }
  void restore(std::vector<double> ring, std::size_t head, std::size_t since) {
    ring_ = std::move(ring);
    if (ring_.size() > cap_) ring_.resize(cap_);
    ring_.reserve(cap_);
    head_ = ring_.empty() ? 0 : head % ring_.size();
    refit();
    since_ = since;
  }

 private:
  // One tail, for values oriented so that larger is more extreme.
  struct Tail {
    double med = 0;     // p = 0.5 here
    double u = 0;       // the k-th largest: p = pu here
    double pu = 1;
    double beta = 1;    // mean excess over u
    double p(double v) const {
      if (v > u) return pu * std::exp(-(v - u) / beta);
      if (v <= med || u <= med) return v >= u ? pu : 1.0;
      // Linear between the median (0.5) and u (pu): monotone, cheap, only the tail matters.
      return 0.5 + (pu - 0.5) * (v - med) / (u - med);
    }
  };

  void refit() {
    since_ = 0;
    const std::size_t n = ring_.size();
    if (n < 2) return;
    scratch_.assign(ring_.begin(), ring_.end());
    const std::size_t k = std::clamp<std::size_t>(static_cast<std::size_t>(frac_ * static_cast<double>(n)), 1, n - 1);
    auto mid = scratch_.begin() + static_cast<std::ptrdiff_t>(n / 2);
    std::nth_element(scratch_.begin(), mid, scratch_.end());
    median_ = *mid;
    // Upper tail: the k largest are after position n - k.
    auto up = scratch_.begin() + static_cast<std::ptrdiff_t>(n - k);
    std::nth_element(mid, up, scratch_.end());
    fit(upper_, scratch_.begin() + static_cast<std::ptrdiff_t>(n - k), scratch_.end(), median_, n, k, 1.0);
    auto lo = scratch_.begin() + static_cast<std::ptrdiff_t>(k - 1);
    std::nth_element(scratch_.begin(), lo, mid);
    fit(lower_, scratch_.begin(), scratch_.begin() + static_cast<std::ptrdiff_t>(k), median_, n, k, -1.0);
  }
  // [first, last) holds the k most extreme values (in either order; the threshold is the least
  // extreme of them). sign = -1 for the lower tail.
  void fit(Tail& t, std::vector<double>::iterator first, std::vector<double>::iterator last, double med, std::size_t n,
           std::size_t k, double sign) {
    double u = sign * *first;
    for (auto it = first; it != last; ++it) u = std::min(u, sign * *it);
    double excess = 0;
    for (auto it = first; it != last; ++it) excess += sign * *it - u;
    t.med = sign * med;
    t.u = u;
    t.pu = static_cast<double>(k) / static_cast<double>(n + 1);
    const double spread = std::fabs(u - t.med);
    t.beta = std::max({excess / static_cast<double>(k), 0.05 * spread, 1e-12, 1e-9 * std::fabs(u)});
  }

  std::size_t cap_ = 0, every_ = 1, head_ = 0, since_ = 0;
  double frac_ = 0.02;
  std::vector<double> ring_, scratch_;
  double median_ = 0;
  Tail upper_, lower_;
};

}  // namespace edgeloop::models
