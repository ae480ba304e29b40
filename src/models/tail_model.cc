#include "models/tail_model.h"

#include <algorithm>
#include <cmath>

namespace edgeloop::models {

TailModel::TailModel(std::size_t capacity, std::size_t every, double tail_fraction)
    : every_(std::max<std::size_t>(every, 1)), frac_(tail_fraction), ring_(capacity) {}

void TailModel::push(double v) {
  ring_.push(v);
  // Refit often while the history is short: the first estimates move fast.
  if (++since_ >= every_ || ring_.size() <= 32) refit();
}

double TailModel::Tail::p(double v) const {
  if (top.empty()) return 1.0;
  if (v > u) {
    const double mx = top.back();
    if (v > mx) return inv_n1 * std::exp(-(v - mx) / beta);
    const auto at_least = top.end() - std::lower_bound(top.begin(), top.end(), v);
    return static_cast<double>(at_least) * inv_n1;
  }
  if (v <= med || u <= med) return v >= u ? pu : 1.0;
  // Linear between the median (0.5) and u (pu): monotone and cheap; only the tail matters.
  return 0.5 + (pu - 0.5) * (v - med) / (u - med);
}

void TailModel::refit() {
  since_ = 0;
  const std::size_t n = ring_.size();
  if (n < 2) return;
  scratch_.assign(ring_.raw().begin(), ring_.raw().end());
  const std::size_t k = std::clamp<std::size_t>(static_cast<std::size_t>(frac_ * static_cast<double>(n)), 1, n / 2);
  const auto it = [&](std::size_t i) { return scratch_.begin() + static_cast<std::ptrdiff_t>(i); };
  std::nth_element(it(0), it(n / 2), it(n));
  median_ = scratch_[n / 2];
  std::nth_element(it(n / 2), it(n - k), it(n));  // the k largest end up in [n - k, n)
  std::nth_element(it(0), it(k - 1), it(n / 2));  // the k smallest in [0, k)
  fit(upper_, n - k, n, n, 1.0);
  fit(lower_, 0, k, n, -1.0);
}

void TailModel::fit(Tail& t, std::size_t first, std::size_t last, std::size_t n, double sign) {
  t.top.clear();
  for (std::size_t i = first; i < last; ++i) t.top.push_back(sign * scratch_[i]);
  std::sort(t.top.begin(), t.top.end());
  const double u = t.top.front();
  double excess = 0;
  for (double v : t.top) excess += v - u;
  const std::size_t k = t.top.size();
  t.med = sign * median_;
  t.u = u;
  t.inv_n1 = 1.0 / static_cast<double>(n + 1);
  t.pu = static_cast<double>(k) * t.inv_n1;
  const double spread = std::fabs(u - t.med);
  // A floor on the scale: a history of identical values must not make every change infinitely
  // surprising.
  t.beta = std::max({excess / static_cast<double>(k), 0.05 * spread, 1e-12, 1e-9 * std::fabs(u)});
}

namespace {

void save_tail(ByteWriter& w, double med, double u, double pu, double beta, double inv_n1, const std::vector<double>& top) {
  w.put(med);
  w.put(u);
  w.put(pu);
  w.put(beta);
  w.put(inv_n1);
  w.vec(top);
}

}  // namespace

// The fitted tails are saved as they are (not refitted on load), so that a restored model
// scores exactly as the saved one would have.
void TailModel::save(ByteWriter& w) const {
  ring_.save(w);
  w.put<uint64_t>(since_);
  w.put(median_);
  for (const Tail* t : {&upper_, &lower_}) save_tail(w, t->med, t->u, t->pu, t->beta, t->inv_n1, t->top);
}

bool TailModel::load(ByteReader& r) {
  if (!ring_.load(r)) return false;
  since_ = static_cast<std::size_t>(r.get<uint64_t>());
  median_ = r.get<double>();
  for (Tail* t : {&upper_, &lower_}) {
    t->med = r.get<double>();
    t->u = r.get<double>();
    t->pu = r.get<double>();
    t->beta = r.get<double>();
    t->inv_n1 = r.get<double>();
    t->top = r.vec<double>(ring_.capacity());
  }
  return r.ok();
}

}  // namespace edgeloop::models
