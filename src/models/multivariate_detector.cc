#include "models/multivariate_detector.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace edgeloop::models {

namespace {

constexpr uint32_t kStateVersion = 1;

// Inverts a symmetric positive definite matrix (Cholesky); false if it is not.
bool invert_spd(std::vector<double> a, int n, std::vector<double>& inv) {
  const auto at = [n](std::vector<double>& m, int i, int j) -> double& {
    return m[static_cast<std::size_t>(i * n + j)];
  };
  for (int j = 0; j < n; ++j) {
    double s = at(a, j, j);
    for (int k = 0; k < j; ++k) s -= at(a, j, k) * at(a, j, k);
    if (!(s > 0)) return false;
    at(a, j, j) = std::sqrt(s);
    for (int i = j + 1; i < n; ++i) {
      double t = at(a, i, j);
      for (int k = 0; k < j; ++k) t -= at(a, i, k) * at(a, j, k);
      at(a, i, j) = t / at(a, j, j);
    }
  }
  // inv = L^-T L^-1, column by column.
  inv.assign(static_cast<std::size_t>(n * n), 0.0);
  std::vector<double> col(static_cast<std::size_t>(n));
  for (int c = 0; c < n; ++c) {
    for (int i = 0; i < n; ++i) {
      double s = i == c ? 1.0 : 0.0;
      for (int k = 0; k < i; ++k) s -= at(a, i, k) * col[static_cast<std::size_t>(k)];
      col[static_cast<std::size_t>(i)] = s / at(a, i, i);
    }
    for (int i = n - 1; i >= 0; --i) {
      double s = col[static_cast<std::size_t>(i)];
      for (int k = i + 1; k < n; ++k) s -= at(a, k, i) * col[static_cast<std::size_t>(k)];
      col[static_cast<std::size_t>(i)] = s / at(a, i, i);
    }
    for (int i = 0; i < n; ++i) inv[static_cast<std::size_t>(i * n + c)] = col[static_cast<std::size_t>(i)];
  }
  return true;
}

}  // namespace

MultivariateDetector::MultivariateDetector(const MultivariateConfig& cfg, int dims)
    : cfg_(cfg),
      d_(dims),
      mean_(static_cast<std::size_t>(dims), 0.0),
      m2_(static_cast<std::size_t>(dims * dims), 0.0),
      smoothed_(static_cast<std::size_t>(dims), 0.0),
      calib_(static_cast<std::size_t>(cfg.history), 16, cfg.tail),
      tmp_(static_cast<std::size_t>(dims), 0.0) {}

double MultivariateDetector::mahalanobis2(const double* x) const {
  double s = 0;
  for (int i = 0; i < d_; ++i) {
    const double di = x[i] - mean_[static_cast<std::size_t>(i)];
    double row = 0;
    for (int j = 0; j < d_; ++j) row += inv_[static_cast<std::size_t>(i * d_ + j)] * (x[j] - mean_[static_cast<std::size_t>(j)]);
    s += di * row;
  }
  return s;
}

void MultivariateDetector::finish_warmup() {
  ready_ = true;
  const auto n = static_cast<double>(std::max<uint64_t>(n_, 2) - 1);
  std::vector<double> cov(m2_.size());
  for (int i = 0; i < d_; ++i) {
    for (int j = 0; j < d_; ++j) {
      const double c = m2_[static_cast<std::size_t>(i * d_ + j)] / n;
      cov[static_cast<std::size_t>(i * d_ + j)] = i == j ? c : (1 - cfg_.shrink) * c;
    }
  }
  // A constant feature (zero variance) gets a tiny variance relative to its level: any change
  // of it is then very surprising, which is what a constant that moves is.
  for (int i = 0; i < d_; ++i) {
    double& v = cov[static_cast<std::size_t>(i * d_ + i)];
    v = std::max({v, 1e-12 * (1 + mean_[static_cast<std::size_t>(i)] * mean_[static_cast<std::size_t>(i)]), 1e-300});
  }
  if (!invert_spd(cov, d_, inv_)) {
    // Fall back to the diagonal: always invertible.
    inv_.assign(cov.size(), 0.0);
    for (int i = 0; i < d_; ++i) inv_[static_cast<std::size_t>(i * d_ + i)] = 1.0 / cov[static_cast<std::size_t>(i * d_ + i)];
  }
  // Seed the calibration with the warm-up vectors' own distances.
  for (std::size_t k = 0; k + static_cast<std::size_t>(d_) <= warm_.size(); k += static_cast<std::size_t>(d_)) {
    calib_.push(mahalanobis2(warm_.data() + k));
  }
  warm_.clear();
  warm_.shrink_to_fit();
}

double MultivariateDetector::update(const double* x_in, int64_t, bool warming) {
  for (int i = 0; i < d_; ++i)
    if (std::isnan(x_in[i])) return std::numeric_limits<double>::quiet_NaN();
  // Smoothing (an exponential moving average over `smooth` vectors).
  const double alpha = 1.0 / std::max(cfg_.smooth, 1.0);
  for (int i = 0; i < d_; ++i) {
    double& s = smoothed_[static_cast<std::size_t>(i)];
    s = smoothed_init_ ? s + alpha * (x_in[i] - s) : x_in[i];
  }
  smoothed_init_ = true;
  const double* x = smoothed_.data();
  if (!ready_) {
    if (warming || n_ < 2) {  // learn (after the warm-up too, until two vectors are known)
      ++n_;
      const double inv_n = 1.0 / static_cast<double>(n_);
      for (int i = 0; i < d_; ++i) tmp_[static_cast<std::size_t>(i)] = x[i] - mean_[static_cast<std::size_t>(i)];
      for (int i = 0; i < d_; ++i) mean_[static_cast<std::size_t>(i)] += tmp_[static_cast<std::size_t>(i)] * inv_n;
      for (int i = 0; i < d_; ++i) {
        for (int j = 0; j < d_; ++j) {
          m2_[static_cast<std::size_t>(i * d_ + j)] += tmp_[static_cast<std::size_t>(i)] * (x[j] - mean_[static_cast<std::size_t>(j)]);
        }
      }
      if (warm_.size() / static_cast<std::size_t>(d_) < static_cast<std::size_t>(cfg_.history)) warm_.insert(warm_.end(), x, x + d_);
      return 0;
    }
    finish_warmup();
  }
  d2_ = mahalanobis2(x);
  const double p = calib_.size() > 0 ? calib_.p_upper(d2_) : 1.0;
  const double s = -std::log10(std::max(p, 1e-300));
  const double score = s / (s + cfg_.half);
  if (cfg_.calibrate_online) calib_.push(d2_);
  if (cfg_.adapt > 0 && score < cfg_.adapt_below) {
    for (int i = 0; i < d_; ++i) mean_[static_cast<std::size_t>(i)] += cfg_.adapt * (x[i] - mean_[static_cast<std::size_t>(i)]);
  }
  return score;
}

void MultivariateDetector::save(ByteWriter& w) const {
  w.put(kStateVersion);
  w.put<int32_t>(d_);
  w.put(n_);
  w.vec(mean_);
  w.vec(m2_);
  w.vec(inv_);
  w.vec(smoothed_);
  w.put<uint8_t>(smoothed_init_ ? 1 : 0);
  w.put<uint8_t>(ready_ ? 1 : 0);
  w.vec(warm_);
  calib_.save(w);
  w.put(d2_);
}

bool MultivariateDetector::load(ByteReader& r) {
  if (r.get<uint32_t>() != kStateVersion || r.get<int32_t>() != d_) return false;
  const auto dd = static_cast<uint64_t>(d_) * static_cast<uint64_t>(d_);
  n_ = r.get<uint64_t>();
  mean_ = r.vec<double>(static_cast<uint64_t>(d_));
  m2_ = r.vec<double>(dd);
  inv_ = r.vec<double>(dd);
  smoothed_ = r.vec<double>(static_cast<uint64_t>(d_));
  smoothed_init_ = r.get<uint8_t>() != 0;
  ready_ = r.get<uint8_t>() != 0;
  warm_ = r.vec<double>(static_cast<uint64_t>(d_) * static_cast<uint64_t>(cfg_.history));
  if (!calib_.load(r)) return false;
  d2_ = r.get<double>();
  return r.ok() && mean_.size() == static_cast<std::size_t>(d_) && m2_.size() == dd && smoothed_.size() == static_cast<std::size_t>(d_) &&
         (!ready_ || inv_.size() == dd);
}

}  // namespace edgeloop::models
