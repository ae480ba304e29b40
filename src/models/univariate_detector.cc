#include "models/univariate_detector.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace edgeloop::models {

namespace {
constexpr uint32_t kStateVersion = 1;
}

UnivariateDetector::UnivariateDetector(const UnivariateConfig& cfg)
    : cfg_(cfg),
      level_(static_cast<std::size_t>(cfg.history), static_cast<std::size_t>(cfg.refit_every), cfg.tail),
      step_(level_),
      mean_(level_),
      season_(level_),
      seq_(level_),
      seq_mean_(level_),
      activity_(level_),
      mean_ring_(static_cast<std::size_t>(std::max(cfg.mean_len, 1))),
      seq_mean_ring_(static_cast<std::size_t>(std::max(cfg.sequence_mean_len, 1))),
      activity_ring_(static_cast<std::size_t>(std::max(cfg.mean_len, 1))),
      season_buf_(cfg.season_ns, cfg.season_ns / 24, static_cast<std::size_t>(cfg.season_points)),
      seq_model_(cfg.order, 2 * cfg.levels, static_cast<std::size_t>(cfg.max_contexts)),
      peak_decay_(cfg.peak_half_life > 0 ? std::exp2(-1.0 / cfg.peak_half_life) : 0.0) {}

// The weighted surprise of v against the history of m (upper tail, or both); then v joins
// the history.
double UnivariateDetector::expert(TailModel& m, double v, double w, bool two_sided) {
  double s = 0;
  if (m.size() >= 10) {
    // Two-sided: only the side v is on can be the smaller probability (the other is >= 1/2).
    const double p = two_sided && v < m.median() ? m.p_lower(v) : m.p_upper(v);
    s = w * -std::log10(std::max(p, 1e-300));
  }
  m.push(v);
  return s;
}

double UnivariateDetector::update(double x, int64_t ts_ns, bool warming) {
  if (std::isnan(x)) return std::numeric_limits<double>::quiet_NaN();
  ++n_;
  if (n_ == 1) {
    prev_ = x;
    warm_min_ = warm_max_ = x;
    level_.push(x);
    if (cfg_.season_ns > 0) (void)season_buf_.exchange(ts_ns, x);
    return surprise_ = 0;
  }
  const double dx = x - prev_;
  prev_ = x;
  parts_.fill(0);
  if (cfg_.w_level > 0) parts_[0] = expert(level_, x, cfg_.w_level);
  if (cfg_.w_step > 0) parts_[1] = expert(step_, dx, cfg_.w_step);
  if (cfg_.season_ns > 0 && cfg_.w_season > 0) {
    if (auto then = season_buf_.exchange(ts_ns, x)) parts_[3] = expert(season_, x - *then, cfg_.w_season);
  }
  if (cfg_.w_mean > 0) {
    mean_ring_.push(x);
    if (mean_ring_.full()) parts_[2] = expert(mean_, mean_ring_.mean(), cfg_.w_mean);
  }
  if (cfg_.w_activity > 0) {
    activity_ring_.push(std::fabs(dx));
    if (activity_ring_.full()) parts_[6] = expert(activity_, activity_ring_.mean(), cfg_.w_activity, false);
  }
  if (cfg_.w_sequence > 0 || cfg_.w_sequence_mean > 0) {
    if (!quant_.ready()) {
      warm_min_ = std::min(warm_min_, x);
      warm_max_ = std::max(warm_max_, x);
      if (!warming) quant_.set(warm_min_, warm_max_, cfg_.levels);
    } else {
      const double bits = seq_model_.observe(quant_.level(x));
      if (cfg_.w_sequence > 0) parts_[4] = expert(seq_, bits, cfg_.w_sequence, false);
      if (cfg_.w_sequence_mean > 0) {
        seq_mean_ring_.push(bits);
        parts_[5] = expert(seq_mean_, seq_mean_ring_.mean(), cfg_.w_sequence_mean, false);
      }
    }
  }
  double s = 0;
  for (double p : parts_) s += p;
  surprise_ = s;
  if (cfg_.peak_half_life > 0) {
    const double prev_peak = peak_ * peak_decay_;
    peak_ = std::max(prev_peak, s);
    if (!warming && s <= prev_peak) s *= cfg_.suppress_factor;
  }
  if (warming) return 0;
  double score = s / (s + cfg_.half);
  if (cfg_.suppress > 0) {
    if (suppress_left_ > 0) {
      --suppress_left_;
      if (score <= last_peak_) return score * cfg_.suppress_factor;  // a stronger peak still passes
    }
    if (score >= cfg_.suppress_above) {
      suppress_left_ = cfg_.suppress;
      last_peak_ = score;
    }
  }
  return score;
}

void UnivariateDetector::save(ByteWriter& w) const {
  w.put(kStateVersion);
  w.put(n_);
  w.put(prev_);
  w.put(surprise_);
  w.put(warm_min_);
  w.put(warm_max_);
  for (const TailModel* m : {&level_, &step_, &mean_, &season_, &seq_, &seq_mean_, &activity_}) m->save(w);
  mean_ring_.save(w);
  seq_mean_ring_.save(w);
  activity_ring_.save(w);
  season_buf_.save(w);
  quant_.save(w);
  seq_model_.save(w);
  w.put(suppress_left_);
  w.put(last_peak_);
  w.put(peak_);
}

bool UnivariateDetector::load(ByteReader& r) {
  if (r.get<uint32_t>() != kStateVersion) return false;
  n_ = r.get<uint64_t>();
  prev_ = r.get<double>();
  surprise_ = r.get<double>();
  warm_min_ = r.get<double>();
  warm_max_ = r.get<double>();
  for (TailModel* m : {&level_, &step_, &mean_, &season_, &seq_, &seq_mean_, &activity_})
    if (!m->load(r)) return false;
  if (!mean_ring_.load(r) || !seq_mean_ring_.load(r) || !activity_ring_.load(r) || !season_buf_.load(r) || !quant_.load(r) || !seq_model_.load(r)) {
    return false;
  }
  suppress_left_ = r.get<int32_t>();
  last_peak_ = r.get<double>();
  peak_ = r.get<double>();
  return r.ok();
}

}  // namespace edgeloop::models
