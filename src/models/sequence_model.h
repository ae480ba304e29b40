// A variable-order Markov model of a quantised signal (prediction by partial matching): how
// surprising is the current level after the last few levels, in bits. A signal that repeats a
// pattern (a daily cycle, a regular train of spikes) becomes predictable, and a break of the
// pattern surprising, whatever the magnitudes.
#pragma once

#include <cmath>
#include <cstdint>
#include <unordered_map>
#include <vector>

namespace edgeloop::models {

class Quantizer {
 public:
  // Levels of width `width` from `lo`; beyond [lo, lo + levels * width] levels grow with the
  // log of the distance, so that far values share levels instead of each being new.
  void set(double lo, double width, int levels) {
    lo_ = lo;
    width_ = width;
    levels_ = levels;
    ready_ = true;
  }
  bool ready() const { return ready_; }
  int32_t level(double x) const {
    const double t = (x - lo_) / width_;
    if (t < 0) return -1 - static_cast<int32_t>(std::floor(std::log2(1.0 - t)));
    if (t >= levels_) return levels_ + static_cast<int32_t>(std::floor(std::log2(1.0 + (t - levels_))));
    return static_cast<int32_t>(t);
  }
  double lo() const { return lo_; }
  double width() const { return width_; }
  int levels() const { return levels_; }

 private:
  double lo_ = 0, width_ = 1;
  int levels_ = 8;
  bool ready_ = false;
};

class SequenceModel {
 public:
  explicit SequenceModel(int order = 4, int alphabet = 16) : order_(order), alphabet_(alphabet) {}
  // Surprise of `sym` after the history, in bits; then learns it.
  double observe(int32_t sym);
  void reset_history() { hist_.clear(); }

 private:
  struct Node {
    uint32_t total = 0;
    std::vector<std::pair<int32_t, uint32_t>> next;  // symbol, count
  };
  static uint64_t key(int j, const int32_t* ctx);

  int order_;
  int alphabet_;
  std::vector<int32_t> hist_;  // the last `order_` symbols, oldest first
  std::unordered_map<uint64_t, Node> nodes_;
};

}  // namespace edgeloop::models
