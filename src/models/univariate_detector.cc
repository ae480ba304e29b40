#include "models/univariate_detector.h"

#include <algorithm>
#include <cmath>

namespace edgeloop::models {

UnivariateDetector::UnivariateDetector(const UnivariateParams& p)
    : p_(p),
      level_(static_cast<std::size_t>(p.hist), static_cast<std::size_t>(p.every), p.tail),
      diff_(static_cast<std::size_t>(p.hist), static_cast<std::size_t>(p.every), p.tail),
      season_(static_cast<std::size_t>(p.hist), static_cast<std::size_t>(p.every), p.tail),
      mean_(static_cast<std::size_t>(p.hist), static_cast<std::size_t>(p.every), p.tail),
      seq_tail_(static_cast<std::size_t>(p.hist), static_cast<std::size_t>(p.every), p.tail),
      seq_(p.seq_order, 2 * p.seq_levels) {}

// -log10 of the tail probability of v (both tails when two_sided), weighted; then v joins the history.
double UnivariateDetector::expert(TailModel& m, double v, double w, bool two_sided) {
  double s = 0;
  if (m.size() >= 10) {
    double p = m.p_upper(v);
    if (two_sided) p = std::min(p, m.p_lower(v));
    s = w * -std::log10(std::max(p, 1e-300));
  }
  m.push(v);
  return s;
}

double UnivariateDetector::update(double x, int64_t) {
  ++n_;
  if (n_ == 1) {
    prev_ = x;
    level_.push(x);
    if (p_.season > 0) season_ring_.push_back(x);
    return 0;
  }
  const double dx = x - prev_;
  prev_ = x;
  double s = 0;
  int experts = 0;
  auto acc = [&](double a, double b) { return p_.combine == 1 ? a + b : std::max(a, b); };
  if (p_.w_level > 0) {
    s = acc(s, expert(level_, x, p_.w_level, true));
    ++experts;
  }
  if (p_.w_diff > 0) {
    s = acc(s, expert(diff_, dx, p_.w_diff, true));
    ++experts;
  }
  if (p_.season > 0 && p_.w_season > 0) {
    const auto S = static_cast<std::size_t>(p_.season);
    if (season_ring_.size() == S) {
      const double res = x - season_ring_[season_head_];
      s = acc(s, expert(season_, res, p_.w_season, true));
      season_ring_[season_head_] = x;
      season_head_ = (season_head_ + 1) % S;
    } else {
      season_ring_.push_back(x);
    }
    ++experts;
  }
  if (p_.w_mean > 0) {
    const auto L = static_cast<std::size_t>(std::max(p_.mean_len, 1));
    if (mean_ring_.size() < L) {
      mean_ring_.push_back(x);
    } else {
      mean_sum_ -= mean_ring_[mean_head_];
      mean_ring_[mean_head_] = x;
      mean_head_ = (mean_head_ + 1) % L;
    }
    mean_sum_ += x;
    if (mean_ring_.size() == L) s = acc(s, expert(mean_, mean_sum_ / static_cast<double>(L), p_.w_mean, true));
    ++experts;
  }
  if (p_.w_seq > 0) {
    if (!quant_.ready()) {
      warm_.push_back(x);
      if (static_cast<int>(warm_.size()) >= std::max(p_.warmup, 10)) {
        const auto [mn, mx] = std::minmax_element(warm_.begin(), warm_.end());
        const double width = std::max({(*mx - *mn) / p_.seq_levels, 1e-6 * std::fabs(*mx), 1e-12});
        quant_.set(*mn, width, p_.seq_levels);
      }
    } else {
      s = acc(s, expert(seq_tail_, seq_.observe(quant_.level(x)), p_.w_seq, false));
    }
    ++experts;
  }
  if (p_.combine == 0) s = std::max(0.0, s - std::log10(std::max(experts, 1)));
  double score = s / (s + p_.half);

  if (n_ <= p_.warmup) return 0;
  if (p_.suppress > 0) {
    if (suppress_left_ > 0) {
      --suppress_left_;
      if (score <= last_peak_) return score * 0.5;  // a stronger burst still passes
    }
    if (score >= p_.suppress_above) {
      suppress_left_ = p_.suppress;
      last_peak_ = score;
    }
  }
  return score;
}

bool set_univariate_param(UnivariateParams& p, const std::string& name, double v) {
  static const std::map<std::string, double UnivariateParams::*> doubles = {
      {"w_level", &UnivariateParams::w_level}, {"w_diff", &UnivariateParams::w_diff},
      {"w_season", &UnivariateParams::w_season}, {"w_mean", &UnivariateParams::w_mean}, {"w_seq", &UnivariateParams::w_seq},
      {"tail", &UnivariateParams::tail}, {"suppress_above", &UnivariateParams::suppress_above},
      {"half", &UnivariateParams::half}};
  static const std::map<std::string, int UnivariateParams::*> ints = {
      {"warmup", &UnivariateParams::warmup}, {"hist", &UnivariateParams::hist}, {"every", &UnivariateParams::every},
      {"season", &UnivariateParams::season}, {"mean_len", &UnivariateParams::mean_len}, {"seq_order", &UnivariateParams::seq_order}, {"seq_levels", &UnivariateParams::seq_levels},
      {"suppress", &UnivariateParams::suppress}, {"combine", &UnivariateParams::combine}};
  if (auto it = doubles.find(name); it != doubles.end()) {
    p.*(it->second) = v;
    return true;
  }
  if (auto it = ints.find(name); it != ints.end()) {
    p.*(it->second) = static_cast<int>(v);
    return true;
  }
  return false;
}

}  // namespace edgeloop::models
