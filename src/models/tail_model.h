// Calibrates a raw statistic against its own recent history: the probability of a value at
// least as extreme (upper or lower tail). Empirical inside the history's tail; beyond the most
// extreme value seen, an exponential decay whose scale is the mean excess of the tail (peaks
// over threshold), so that a value past everything seen still gets a finite, comparable
// probability; between the median and the tail, linear (only the tail matters for a score).
//
// Cost: the k most extreme values of each side are kept sorted, exactly, in a small buffer
// of up to 2k (an insertion is O(k), and most values do not enter it); when expiries leave
// fewer than k, the buffer is rebuilt from the history by selection (O(history), rare). The
// median and the bulk quantiles are refreshed every `every` values.
#pragma once

#include <cstddef>
#include <cstdint>
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
  double p_upper(double v) const;
  double p_lower(double v) const;
  double median() const { return median_; }

  void save(ByteWriter& w) const;
  bool load(ByteReader& r);

 private:
  struct Entry {
    double v;
    uint64_t seq;
  };
  // One side, oriented so that larger is more extreme: the most extreme values, ascending.
  struct Side {
    std::vector<Entry> top;
    std::size_t k = 1;      // the tail size
    double u = 0;           // the k-th most extreme value
    double mx = 0;          // the most extreme
    double beta = 1;        // scale of the exponential beyond mx
    bool dirty = true;      // top changed since the last summary
    void insert(double v, uint64_t seq, std::size_t cap, std::size_t history);
    void remove(double v, uint64_t seq);
    void summarise(double median);
    double p(double v, double inv_n1) const;  // for v above u; -1 otherwise
  };
  void rebuild();          // the tails, from the history
  void refresh_median();
  std::size_t tail_k() const;

  std::size_t every_ = 256;
  double frac_ = 0.02;
  std::size_t since_ = 0;
  uint64_t seq_ = 0;        // values pushed so far
  Ring ring_;
  std::vector<double> scratch_;
  double median_ = 0;
  double inv_n1_ = 1;
  // Quantiles of the history at the last refresh (kQuantiles + 1 values, ascending), for the
  // bulk below the tails, where ties (quantised data) matter: a value that a third of the
  // history shares is not rare however extreme its rank.
  static constexpr std::size_t kQuantiles = 128;
  std::vector<double> quantiles_;
  // The history sorted as of the last refresh, and what entered and left it since: a refresh
  // merges them in O(history + changes log changes) instead of sorting the history again.
  std::vector<double> sorted_, added_, expired_;
  Side upper_, lower_;
};

}  // namespace edgeloop::models
