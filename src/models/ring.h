// Fixed-capacity rings of doubles for per-key detector state: no allocation once full.
#pragma once

#include <cstddef>
#include <vector>

#include "models/byte_io.h"

namespace edgeloop::models {

// The last `capacity` values, oldest first through at(0).
class Ring {
 public:
  Ring() = default;
  explicit Ring(std::size_t capacity) : cap_(capacity < 1 ? 1 : capacity) {}
  void push(double v) {
    if (buf_.size() < cap_) {
      buf_.push_back(v);
    } else {
      buf_[head_] = v;
      head_ = head_ + 1 == cap_ ? 0 : head_ + 1;
    }
  }
  std::size_t size() const { return buf_.size(); }
  std::size_t capacity() const { return cap_; }
  bool full() const { return buf_.size() == cap_; }
  double at(std::size_t i) const { return buf_[(head_ + i) % buf_.size()]; }
  const std::vector<double>& raw() const { return buf_; }  // unordered

  void save(ByteWriter& w) const {
    std::vector<double> ordered(buf_.size());
    for (std::size_t i = 0; i < buf_.size(); ++i) ordered[i] = at(i);
    w.vec(ordered);
  }
  bool load(ByteReader& r) {
    auto v = r.vec<double>(cap_);
    if (!r.ok()) return false;
    buf_ = std::move(v);
    head_ = 0;
    return true;
  }

 private:
  std::size_t cap_ = 1;
  std::size_t head_ = 0;
  std::vector<double> buf_;
};

// The mean of the last `capacity` values; the sum is recomputed every capacity pushes so
// rounding cannot drift.
class RingMean {
 public:
  RingMean() = default;
  explicit RingMean(std::size_t capacity) : ring_(capacity) {}
  void push(double v) {
    if (ring_.full()) sum_ -= ring_.at(0);
    ring_.push(v);
    sum_ += v;
    if (++since_ >= ring_.capacity()) {
      since_ = 0;
      sum_ = 0;
      for (std::size_t i = 0; i < ring_.size(); ++i) sum_ += ring_.at(i);  // oldest first: same bits after a restore
    }
  }
  bool full() const { return ring_.full(); }
  std::size_t size() const { return ring_.size(); }
  double mean() const { return ring_.size() ? sum_ / static_cast<double>(ring_.size()) : 0.0; }
  // The running sum is saved as it is: recomputing it would differ in the last bits.
  void save(ByteWriter& w) const {
    ring_.save(w);
    w.put(sum_);
    w.put<uint64_t>(since_);
  }
  bool load(ByteReader& r) {
    if (!ring_.load(r)) return false;
    sum_ = r.get<double>();
    since_ = static_cast<std::size_t>(r.get<uint64_t>());
    return r.ok();
  }

 private:
  Ring ring_;
  double sum_ = 0;
  std::size_t since_ = 0;
};

}  // namespace edgeloop::models
