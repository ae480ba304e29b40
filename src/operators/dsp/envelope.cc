#include "operators/dsp/envelope.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "operators/dsp/window_function.h"

namespace edgeloop::dsp {

Result<std::unique_ptr<EnvelopeAnalyzer>> EnvelopeAnalyzer::create(std::size_t n, double fs, double low_hz,
                                                                   double high_hz) {
  if (!is_power_of_two(n) || n < 64 || n > RealFft::kMaxSize)
    return make_error(Errc::kInvalidArgument,
                      "envelope analysis needs a window of a power-of-two size from 64 samples, got " + std::to_string(n));
  if (!(fs > 0) || !std::isfinite(fs)) return make_error(Errc::kInvalidArgument, "the sample rate must be positive");
  if (!(low_hz > 0) || !(high_hz > low_hz) || !(high_hz < fs / 2))
    return make_error(Errc::kInvalidArgument, "band [" + std::to_string(low_hz) + ", " + std::to_string(high_hz) +
                                                  "] Hz must satisfy 0 < low < high < fs/2 = " + std::to_string(fs / 2));
  std::unique_ptr<EnvelopeAnalyzer> a(new EnvelopeAnalyzer());
  a->n_ = n;
  a->fs_ = fs;
  const double per_bin = static_cast<double>(n) / fs;
  const auto lo = static_cast<std::size_t>(std::max(1.0, std::ceil(low_hz * per_bin)));
  const auto hi = static_cast<std::size_t>(std::min(static_cast<double>(n / 2 - 1), std::floor(high_hz * per_bin)));
  if (hi < lo + 1)
    return make_error(Errc::kInvalidArgument, "the band holds fewer than 2 bins of a " + std::to_string(n) +
                                                  "-sample window: widen it or use longer windows");
  a->k_lo_ = lo;
  a->k_count_ = hi - lo + 1;
  std::size_t l = 16;
  while (l < 2 * a->k_count_) l *= 2;
  a->l_ = std::min(l, n);
  auto fn = RealFft::create(n);
  if (!fn.ok()) return fn.take_error();
  a->fft_n_ = std::move(fn).value();
  auto fl = RealFft::create(a->l_);
  if (!fl.ok()) return fl.take_error();
  a->fft_l_ = std::move(fl).value();
  auto il = ComplexFft::create(a->l_);
  if (!il.ok()) return il.take_error();
  a->ifft_l_ = std::move(il).value();
  a->window_ = make_window(WindowKind::kHann, n);
  a->taper_l_ = make_window(WindowKind::kHann, a->l_);
  a->re_.assign(n / 2 + 1, 0.0f);
  a->im_.assign(n / 2 + 1, 0.0f);
  a->a_re_.assign(a->l_, 0.0f);
  a->a_im_.assign(a->l_, 0.0f);
  a->env_.assign(a->l_, 0.0f);
  a->spec_.assign(a->l_ / 2 + 1, 0.0f);
  a->scratch_.reserve(a->l_ / 2);
  return a;
}

const float* EnvelopeAnalyzer::analyze(const float* x) {
  fft_n_->forward(x, window_.data(), re_.data(), im_.data());
  // The band's bins shifted to 0, the rest zero: a one-sided (analytic) band-passed spectrum.
  std::fill(a_re_.begin(), a_re_.end(), 0.0f);
  std::fill(a_im_.begin(), a_im_.end(), 0.0f);
  for (std::size_t j = 0; j < k_count_ && j < l_; ++j) {
    a_re_[j] = 2.0f * re_[k_lo_ + j];
    a_im_[j] = 2.0f * im_[k_lo_ + j];
  }
  ifft_l_->transform(a_re_.data(), a_im_.data(), /*inverse=*/true);
  double sum = 0, wsum = 0;
  for (std::size_t m = 0; m < l_; ++m) {
    env_[m] = std::sqrt(a_re_[m] * a_re_[m] + a_im_[m] * a_im_[m]);
    sum += env_[m];
    wsum += taper_l_[m];
  }
  // The envelope carries the analysis window: its mean is the window's shape times the mean
  // level, which would leak into the lowest bins. Remove exactly that.
  const double level = wsum > 0 ? sum / wsum : 0.0;
  for (std::size_t m = 0; m < l_; ++m) env_[m] -= static_cast<float>(level) * taper_l_[m];
  fft_l_->power(env_.data(), nullptr, spec_.data());
  return spec_.data();
}

double EnvelopeAnalyzer::harmonic_energy(double f_hz, int harmonics, double tolerance) const {
  const double last = static_cast<double>(bins() - 1);
  double e = 0;
  for (int h = 1; h <= harmonics; ++h) {
    const double centre = h * f_hz / bin_hz();
    const double half = std::max(1.0, centre * tolerance);
    if (centre + half < 1 || centre > last) continue;
    const auto from = static_cast<std::size_t>(std::max(1.0, std::floor(centre - half)));
    const auto to = static_cast<std::size_t>(std::min(last, std::ceil(centre + half)));
    float best = 0;
    for (std::size_t k = from; k <= to; ++k) best = std::max(best, spec_[k]);
    e += best;
  }
  return e;
}

std::size_t EnvelopeAnalyzer::content_bins() const { return std::min(k_count_, bins() - 1); }

double EnvelopeAnalyzer::median() const {
  const std::size_t last = content_bins();
  scratch_.assign(spec_.begin() + 1, spec_.begin() + 1 + static_cast<std::ptrdiff_t>(last));
  if (scratch_.empty()) return 0;
  const auto mid = scratch_.begin() + static_cast<std::ptrdiff_t>(scratch_.size() / 2);
  std::nth_element(scratch_.begin(), mid, scratch_.end());
  return *mid;
}

double EnvelopeAnalyzer::total() const {
  double s = 0;
  for (std::size_t k = 1; k <= content_bins(); ++k) s += spec_[k];
  return s;
}

}  // namespace edgeloop::dsp
