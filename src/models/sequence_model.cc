#include "models/sequence_model.h"

#include <algorithm>

namespace edgeloop::models {

uint64_t SequenceModel::key(int j, const int32_t* ctx) {
  uint64_t h = 0x9E3779B97F4A7C15ull * static_cast<uint64_t>(j + 1);
  for (int i = 0; i < j; ++i) {
    h ^= static_cast<uint64_t>(static_cast<uint32_t>(ctx[i])) + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
  }
  return h;
}

double SequenceModel::observe(int32_t sym) {
  const int avail = static_cast<int>(hist_.size());
  // PPM (method C escapes, no exclusion): from the longest context down to order 0.
  double p_escape = 1.0;
  double p = 0;
  bool found = false;
  for (int j = std::min(order_, avail); j >= 0; --j) {
    const int32_t* ctx = hist_.data() + (avail - j);
    auto it = nodes_.find(key(j, ctx));
    if (it == nodes_.end() || it->second.total == 0) continue;
    const Node& n = it->second;
    const double distinct = static_cast<double>(n.next.size());
    const double denom = static_cast<double>(n.total) + distinct;
    uint32_t c = 0;
    for (const auto& [s, cnt] : n.next)
      if (s == sym) c = cnt;
    if (c > 0) {
      p = p_escape * static_cast<double>(c) / denom;
      found = true;
      break;
    }
    p_escape *= distinct / denom;
  }
  if (!found) p = p_escape / static_cast<double>(alphabet_);
  // Learn: every order's context counts the symbol.
  for (int j = 0; j <= std::min(order_, avail); ++j) {
    Node& n = nodes_[key(j, hist_.data() + (avail - j))];
    ++n.total;
    bool hit = false;
    for (auto& [s, cnt] : n.next)
      if (s == sym) {
        ++cnt;
        hit = true;
      }
    if (!hit) n.next.push_back({sym, 1});
  }
  hist_.push_back(sym);
  if (static_cast<int>(hist_.size()) > order_) hist_.erase(hist_.begin());
  return -std::log2(std::max(p, 1e-300));
}

}  // namespace edgeloop::models
