// A variable-order Markov model of a quantised signal (prediction by partial matching, PPM
// method C escapes): how surprising the current level is after the last few levels, in bits.
// A signal that repeats a pattern (a daily cycle, a regular train of spikes) becomes
// predictable, and a break of the pattern surprising, whatever the magnitudes.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "models/byte_io.h"

namespace edgeloop::models {

// Equal-width levels over a learned range; beyond it, levels grow with the log of the
// distance, so that far values share levels instead of each being new.
class Quantizer {
 public:
  void set(double lo, double hi, int levels);
  bool ready() const { return ready_; }
  int32_t level(double x) const;
  void save(ByteWriter& w) const;
  bool load(ByteReader& r);

 private:
  double lo_ = 0, width_ = 1;
  int32_t levels_ = 8;
  bool ready_ = false;
};

class SequenceModel {
 public:
  static constexpr int kMaxOrder = 8;
  SequenceModel() = default;
  // `max_contexts` bounds the memory: past it, new contexts are not learned (known ones are).
  SequenceModel(int order, int alphabet, std::size_t max_contexts);
  // Surprise of `sym` after the recent symbols, in bits; then learns it.
  double observe(int32_t sym);
  std::size_t contexts() const { return nodes_.size(); }

  void save(ByteWriter& w) const;
  bool load(ByteReader& r);

 private:
  struct Node {
    uint32_t total = 0;
    std::vector<std::pair<int32_t, uint32_t>> next;  // symbol, count
  };
  uint64_t key(int j) const;  // the context of the last j symbols

  int order_ = 2;
  int alphabet_ = 16;
  std::size_t max_contexts_ = 50000;
  std::array<int32_t, kMaxOrder> hist_{};  // the last `avail_` symbols, oldest first
  int avail_ = 0;
  std::unordered_map<uint64_t, Node> nodes_;
};

}  // namespace edgeloop::models
