#include "models/season_buffer.h"

#include <cstdlib>

namespace edgeloop::models {

std::optional<double> SeasonBuffer::exchange(int64_t ts, double x) {
  std::optional<double> out;
  const int64_t target = ts - season_;
  // Entries older than the target, except the last of them, are no longer needed.
  while (start_ + 1 < ts_.size() && ts_[start_ + 1] <= target) ++start_;
  if (start_ < ts_.size()) {
    std::size_t best = start_;
    if (start_ + 1 < ts_.size() && std::llabs(ts_[start_ + 1] - target) < std::llabs(ts_[start_] - target)) best = start_ + 1;
    if (std::llabs(ts_[best] - target) <= tol_) out = x_[best];
  }
  // Compact when the dead prefix is large (amortised O(1), no allocation once grown).
  if (start_ > 1024 && start_ * 2 > ts_.size()) {
    ts_.erase(ts_.begin(), ts_.begin() + static_cast<std::ptrdiff_t>(start_));
    x_.erase(x_.begin(), x_.begin() + static_cast<std::ptrdiff_t>(start_));
    start_ = 0;
  }
  if (ts_.size() - start_ >= max_) ++start_;  // over the bound: drop the oldest
  ts_.push_back(ts);
  x_.push_back(x);
  return out;
}

void SeasonBuffer::save(ByteWriter& w) const {
  w.put<uint64_t>(ts_.size() - start_);
  for (std::size_t i = start_; i < ts_.size(); ++i) {
    w.put(ts_[i]);
    w.put(x_[i]);
  }
}

bool SeasonBuffer::load(ByteReader& r) {
  const auto n = r.get<uint64_t>();
  if (!r.ok() || n > max_) return false;
  ts_.clear();
  x_.clear();
  start_ = 0;
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    ts_.push_back(r.get<int64_t>());
    x_.push_back(r.get<double>());
  }
  return r.ok();
}

}  // namespace edgeloop::models
