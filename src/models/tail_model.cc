#include "models/tail_model.h"

#include <algorithm>
#include <cmath>

namespace edgeloop::models {

TailModel::TailModel(std::size_t capacity, std::size_t every, double tail_fraction)
    : every_(std::max<std::size_t>(every, 1)), frac_(tail_fraction), ring_(capacity) {}

std::size_t TailModel::tail_k() const {
  const std::size_t n = ring_.size();
  return std::clamp<std::size_t>(static_cast<std::size_t>(frac_ * static_cast<double>(n)), 1, std::max<std::size_t>(n / 2, 1));
}

void TailModel::Side::insert(double v, uint64_t seq, std::size_t cap, std::size_t history) {
  // The buffer holds the top.size() most extreme values of the history. A value below its
  // least extreme one may only join when the buffer holds the whole history (else a value
  // left out earlier could lie between them).
  if (!top.empty() && v < top.front().v && top.size() < history) return;
  const auto at = std::upper_bound(top.begin(), top.end(), v, [](double x, const Entry& e) { return x < e.v; });
  top.insert(at, Entry{v, seq});
  if (top.size() > cap) top.erase(top.begin());
  dirty = true;
}

void TailModel::Side::remove(double v, uint64_t seq) {
  if (top.empty() || v < top.front().v) return;
  for (auto it = top.begin(); it != top.end(); ++it) {
    if (it->seq == seq) {
      top.erase(it);
      dirty = true;
      return;
    }
  }
}

void TailModel::Side::summarise(double median) {
  dirty = false;
  if (top.empty()) return;
  const std::size_t m = top.size();
  const std::size_t kk = std::min(k, m);
  u = top[m - kk].v;
  mx = top.back().v;
  double excess = 0;
  for (std::size_t i = m - kk; i < m; ++i) excess += top[i].v - u;
  // A floor on the scale: a history of identical values must not make every change
  // infinitely surprising.
  const double spread = std::fabs(u - median);
  beta = std::max({excess / static_cast<double>(kk), 0.05 * spread, 1e-12, 1e-9 * std::fabs(u)});
}

double TailModel::Side::p(double v, double inv_n1) const {
  if (top.empty() || v <= u) return -1;
  if (v > mx) return inv_n1 * std::exp(-(v - mx) / beta);
  // The share of the history at least as extreme (inside the tail the buffer is exact).
  const auto first = std::lower_bound(top.begin(), top.end(), v, [](const Entry& e, double x) { return e.v < x; });
  return static_cast<double>(top.end() - first) * inv_n1;
}

double TailModel::p_upper(double v) const {
  if (const double p = upper_.p(v, inv_n1_); p >= 0) return p;
  if (quantiles_.empty()) return 1.0;
  // The bulk: the share of the history at or above v, from the quantiles (ties included).
  const auto first = std::lower_bound(quantiles_.begin(), quantiles_.end(), v);
  const double share = static_cast<double>(quantiles_.end() - first) / static_cast<double>(quantiles_.size());
  return std::clamp(share, static_cast<double>(upper_.k) * inv_n1_, 1.0);
}

double TailModel::p_lower(double v) const {
  if (const double p = lower_.p(-v, inv_n1_); p >= 0) return p;
  if (quantiles_.empty()) return 1.0;
  const auto last = std::upper_bound(quantiles_.begin(), quantiles_.end(), v);
  const double share = static_cast<double>(last - quantiles_.begin()) / static_cast<double>(quantiles_.size());
  return std::clamp(share, static_cast<double>(lower_.k) * inv_n1_, 1.0);
}

void TailModel::push(double v) {
  const std::size_t cap = ring_.capacity();
  if (ring_.full()) {
    // The oldest value leaves the history: out of the tails too.
    const double old = ring_.at(0);
    const uint64_t old_seq = seq_ - cap;
    expired_.push_back(old);
    upper_.remove(old, old_seq);
    lower_.remove(-old, old_seq);
  }
  const std::size_t history = ring_.size() - (ring_.full() ? 1 : 0);  // after the expiry
  ring_.push(v);
  added_.push_back(v);
  const uint64_t seq = seq_++;
  inv_n1_ = 1.0 / static_cast<double>(ring_.size() + 1);
  const std::size_t k = tail_k();
  if (k != upper_.k) upper_.dirty = lower_.dirty = true;
  upper_.k = lower_.k = k;
  upper_.insert(v, seq, 2 * k, history);
  lower_.insert(-v, seq, 2 * k, history);
  if (upper_.top.size() < k || lower_.top.size() < k) {
    rebuild();
  }
  // While the history is short it changes fast: refresh every eighth of it, at most every `every`.
  if (++since_ >= std::min(every_, std::max<std::size_t>(4, ring_.size() / 8))) {
    refresh_median();
    upper_.dirty = lower_.dirty = true;
  }
  if (upper_.dirty) upper_.summarise(median_);
  if (lower_.dirty) lower_.summarise(-median_);
}

void TailModel::refresh_median() {
  since_ = 0;
  const std::size_t n = ring_.size();
  if (n == 0) return;
  // sorted_ minus what expired, merged with what was added: the history, sorted.
  std::sort(added_.begin(), added_.end());
  std::sort(expired_.begin(), expired_.end());
  if (!expired_.empty()) {
    scratch_.resize(sorted_.size());
    scratch_.resize(static_cast<std::size_t>(
        std::set_difference(sorted_.begin(), sorted_.end(), expired_.begin(), expired_.end(), scratch_.begin()) - scratch_.begin()));
    sorted_.swap(scratch_);
  }
  scratch_.resize(sorted_.size() + added_.size());
  std::merge(sorted_.begin(), sorted_.end(), added_.begin(), added_.end(), scratch_.begin());
  sorted_.swap(scratch_);
  added_.clear();
  expired_.clear();
  median_ = sorted_[n / 2];
  quantiles_.resize(kQuantiles + 1);
  for (std::size_t j = 0; j <= kQuantiles; ++j) quantiles_[j] = sorted_[j * (n - 1) / kQuantiles];
}

void TailModel::rebuild() {
  const std::size_t n = ring_.size();
  if (n == 0) return;
  const std::size_t k = tail_k();
  const std::size_t m = std::min(2 * k, n);
  const auto& raw = ring_.raw();
  const auto at = [&](std::size_t i) { return scratch_.begin() + static_cast<std::ptrdiff_t>(i); };
  scratch_.assign(raw.begin(), raw.end());
  // The m-th largest and m-th smallest values, by selection on the values alone; then one pass
  // over the history (in push order, for the sequence numbers) collects the entries.
  std::nth_element(at(0), at(n - m), at(n));
  const double hi = scratch_[n - m];
  if (m - 1 < n - m) {
    std::nth_element(at(0), at(m - 1), at(n - m));  // the m smallest are all left of n - m
  } else {
    scratch_.assign(raw.begin(), raw.end());
    std::nth_element(at(0), at(m - 1), at(n));
  }
  const double lo = scratch_[m - 1];
  std::size_t above = 0, below = 0;  // strictly beyond the thresholds
  for (double v : raw) {
    above += v > hi;
    below += v < lo;
  }
  std::size_t hi_ties = m - above, lo_ties = m - below;
  const uint64_t base = seq_ - n;
  upper_.top.clear();
  lower_.top.clear();
  for (std::size_t i = 0; i < n; ++i) {
    const double v = ring_.at(i);
    if (v > hi || (v == hi && hi_ties > 0 && hi_ties--)) upper_.top.push_back({v, base + i});
    if (v < lo || (v == lo && lo_ties > 0 && lo_ties--)) lower_.top.push_back({-v, base + i});
  }
  const auto asc = [](const Entry& a, const Entry& b) { return a.v < b.v || (a.v == b.v && a.seq < b.seq); };
  std::sort(upper_.top.begin(), upper_.top.end(), asc);
  std::sort(lower_.top.begin(), lower_.top.end(), asc);
  upper_.k = lower_.k = k;
  upper_.summarise(median_);
  lower_.summarise(-median_);
}

// The tails are rebuilt from the history on load; the median is saved as it was, so that a
// restored model scores exactly as the saved one would have.
void TailModel::save(ByteWriter& w) const {
  ring_.save(w);
  w.put<uint64_t>(seq_);
  w.put<uint64_t>(since_);
  w.put(median_);
  w.vec(quantiles_);
}

bool TailModel::load(ByteReader& r) {
  if (!ring_.load(r)) return false;
  seq_ = r.get<uint64_t>();
  since_ = static_cast<std::size_t>(r.get<uint64_t>());
  median_ = r.get<double>();
  quantiles_ = r.vec<double>(kQuantiles + 1);
  if (!r.ok() || seq_ < ring_.size()) return false;
  // The sorted copy restarts from the history as it is now.
  sorted_.assign(ring_.raw().begin(), ring_.raw().end());
  std::sort(sorted_.begin(), sorted_.end());
  added_.clear();
  expired_.clear();
  inv_n1_ = 1.0 / static_cast<double>(ring_.size() + 1);
  rebuild();
  return true;
}

}  // namespace edgeloop::models
