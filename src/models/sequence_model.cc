#include "models/sequence_model.h"

#include <algorithm>

namespace edgeloop::models {

void Quantizer::set(double lo, double hi, int levels) {
  lo_ = lo;
  levels_ = std::max(levels, 1);
  // A flat warm-up still needs a finite width: a tiny one relative to the level.
  width_ = std::max({(hi - lo) / levels_, 1e-6 * std::max(std::fabs(hi), std::fabs(lo)), 1e-12});
  ready_ = true;
}

int32_t Quantizer::level(double x) const {
  const double t = (x - lo_) / width_;
  if (t < 0) return -1 - static_cast<int32_t>(std::min(std::floor(std::log2(1.0 - t)), 1e6));
  if (t >= levels_) return levels_ + static_cast<int32_t>(std::min(std::floor(std::log2(1.0 + (t - levels_))), 1e6));
  return static_cast<int32_t>(t);
}

void Quantizer::save(ByteWriter& w) const {
  w.put(lo_);
  w.put(width_);
  w.put(levels_);
  w.put<uint8_t>(ready_ ? 1 : 0);
}

bool Quantizer::load(ByteReader& r) {
  lo_ = r.get<double>();
  width_ = r.get<double>();
  levels_ = r.get<int32_t>();
  ready_ = r.get<uint8_t>() != 0;
  return r.ok() && width_ > 0 && levels_ > 0;
}

SequenceModel::SequenceModel(int order, int alphabet, std::size_t max_contexts)
    : order_(std::clamp(order, 0, kMaxOrder)), alphabet_(std::max(alphabet, 2)), max_contexts_(max_contexts) {}

uint64_t SequenceModel::key(int j) const {
  uint64_t h = 0x9E3779B97F4A7C15ull * static_cast<uint64_t>(j + 1);
  for (int i = avail_ - j; i < avail_; ++i) {
    h ^= static_cast<uint64_t>(static_cast<uint32_t>(hist_[static_cast<std::size_t>(i)])) + 0x9E3779B97F4A7C15ull + (h << 6) +
         (h >> 2);
  }
  return h;
}

double SequenceModel::observe(int32_t sym) {
  const int top = std::min(order_, avail_);
  // From the longest context down to order 0; each miss escapes with the share of the distinct
  // symbols seen in that context.
  double p_escape = 1.0;
  double p = -1;
  for (int j = top; j >= 0 && p < 0; --j) {
    const auto it = nodes_.find(key(j));
    if (it == nodes_.end() || it->second.total == 0) continue;
    const Node& n = it->second;
    const double distinct = static_cast<double>(n.next.size());
    const double denom = static_cast<double>(n.total) + distinct;
    for (const auto& [s, c] : n.next) {
      if (s == sym) {
        p = p_escape * static_cast<double>(c) / denom;
        break;
      }
    }
    if (p < 0) p_escape *= distinct / denom;
  }
  if (p < 0) p = p_escape / static_cast<double>(alphabet_);
  for (int j = 0; j <= top; ++j) {
    const uint64_t k = key(j);
    auto it = nodes_.find(k);
    if (it == nodes_.end()) {
      if (nodes_.size() >= max_contexts_) continue;
      it = nodes_.emplace(k, Node{}).first;
    }
    Node& n = it->second;
    ++n.total;
    bool hit = false;
    for (auto& [s, c] : n.next) {
      if (s == sym) {
        ++c;
        hit = true;
        break;
      }
    }
    if (!hit) n.next.emplace_back(sym, 1u);
  }
  if (order_ > 0) {
    if (avail_ < order_) {
      hist_[static_cast<std::size_t>(avail_++)] = sym;
    } else {
      std::copy(hist_.begin() + 1, hist_.begin() + order_, hist_.begin());
      hist_[static_cast<std::size_t>(order_ - 1)] = sym;
    }
  }
  return -std::log2(std::max(p, 1e-300));
}

void SequenceModel::save(ByteWriter& w) const {
  w.put<int32_t>(avail_);
  for (int i = 0; i < avail_; ++i) w.put<int32_t>(hist_[static_cast<std::size_t>(i)]);
  // By key: the same model always gives the same bytes.
  std::vector<uint64_t> keys;
  keys.reserve(nodes_.size());
  for (const auto& kv : nodes_) keys.push_back(kv.first);
  std::sort(keys.begin(), keys.end());
  w.put<uint64_t>(nodes_.size());
  for (uint64_t k : keys) {
    const Node& n = nodes_.at(k);
    w.put(k);
    w.put(n.total);
    w.put<uint32_t>(static_cast<uint32_t>(n.next.size()));
    for (const auto& [s, c] : n.next) {
      w.put(s);
      w.put(c);
    }
  }
}

bool SequenceModel::load(ByteReader& r) {
  avail_ = r.get<int32_t>();
  if (avail_ < 0 || avail_ > order_) return false;
  for (int i = 0; i < avail_; ++i) hist_[static_cast<std::size_t>(i)] = r.get<int32_t>();
  const auto n = r.get<uint64_t>();
  if (!r.ok() || n > max_contexts_) return false;
  nodes_.clear();
  nodes_.reserve(static_cast<std::size_t>(n));
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    const auto k = r.get<uint64_t>();
    Node node;
    node.total = r.get<uint32_t>();
    const auto m = r.get<uint32_t>();
    if (m > 1u << 20) return false;
    for (uint32_t j = 0; j < m && r.ok(); ++j) {
      const auto s = r.get<int32_t>();
      const auto c = r.get<uint32_t>();
      node.next.emplace_back(s, c);
    }
    nodes_.emplace(k, std::move(node));
  }
  return r.ok();
}

}  // namespace edgeloop::models
