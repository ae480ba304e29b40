#include "operators/dsp/resample.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <string>

namespace edgeloop::dsp {

namespace {

// The modified Bessel function of the first kind, order 0, by its power series (converges
// fast for the β of a Kaiser window, below 15).
double bessel_i0(double x) {
  double sum = 1, term = 1;
  const double q = x * x / 4;
  for (int k = 1; k < 200; ++k) {
    term *= q / (static_cast<double>(k) * static_cast<double>(k));
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

}  // namespace

Result<std::vector<double>> design_lowpass(double cutoff, double transition, double attenuation_db) {
  if (!(cutoff > 0 && cutoff < 0.5)) {
    return make_error(Errc::kInvalidArgument,
                      "low-pass cutoff must be within (0, 0.5) of the sample rate, got " + std::to_string(cutoff));
  }
  if (!(transition > 0) || cutoff - transition / 2 <= 0 || cutoff + transition / 2 > 0.5) {
    return make_error(Errc::kInvalidArgument, "low-pass transition band must be positive and lie within (0, 0.5]");
  }
  if (!(attenuation_db >= 21 && attenuation_db <= 150)) {
    return make_error(Errc::kInvalidArgument, "low-pass attenuation must be 21 to 150 dB");
  }
  // Kaiser's estimates: β from the attenuation, the order from attenuation and transition.
  const double a = attenuation_db;
  const double beta = a > 50 ? 0.1102 * (a - 8.7) : 0.5842 * std::pow(a - 21, 0.4) + 0.07886 * (a - 21);
  const double order = (a - 7.95) / (2.285 * 2 * std::numbers::pi * transition);
  auto len = static_cast<std::size_t>(std::ceil(order)) + 1;
  if (len % 2 == 0) ++len;  // odd: a whole-sample delay
  if (len > 100001) return make_error(Errc::kTooLarge, "low-pass needs more than 100001 taps: widen the transition");
  std::vector<double> h(len);
  const double mid = static_cast<double>(len - 1) / 2;
  const double i0b = bessel_i0(beta);
  double sum = 0;
  for (std::size_t i = 0; i < len; ++i) {
    const double t = static_cast<double>(i) - mid;
    const double sinc = t == 0 ? 2 * cutoff : std::sin(2 * std::numbers::pi * cutoff * t) / (std::numbers::pi * t);
    const double r = t / mid;
    const double w = bessel_i0(beta * std::sqrt(std::max(0.0, 1 - r * r))) / i0b;
    h[i] = sinc * w;
    sum += h[i];
  }
  for (double& v : h) v /= sum;
  return h;
}

Result<Decimator> Decimator::create(int factor, double passband, double attenuation_db) {
  if (factor < 2 || factor > 64) return make_error(Errc::kInvalidArgument, "decimation factor must be 2 to 64");
  if (!(passband >= 0.5 && passband <= 0.95)) {
    return make_error(Errc::kInvalidArgument, "decimation passband must be 0.5 to 0.95 of the new Nyquist frequency");
  }
  // In fractions of the input rate: the new Nyquist is 0.5 / factor.
  const double nyq = 0.5 / factor;
  const double pass = passband * nyq;
  auto taps = design_lowpass((pass + nyq) / 2, nyq - pass, attenuation_db);
  if (!taps.ok()) return taps.take_error();
  Decimator d;
  d.factor_ = factor;
  d.taps_ = std::move(taps).value();
  return d;
}

std::vector<double> Decimator::decimate(const double* x, std::size_t n) const {
  const auto m_count = (n + static_cast<std::size_t>(factor_) - 1) / static_cast<std::size_t>(factor_);
  std::vector<double> y(m_count, 0.0);
  const std::size_t len = taps_.size();
  const std::size_t d = delay();
  for (std::size_t m = 0; m < m_count; ++m) {
    // Input index j = centre - k, centre = m·factor + delay; keep 0 <= j < n.
    const std::size_t centre = m * static_cast<std::size_t>(factor_) + d;
    const std::size_t k_from = centre >= n ? centre - n + 1 : 0;
    const std::size_t k_to = std::min(len, centre + 1);  // exclusive
    double acc = 0;
    for (std::size_t k = k_from; k < k_to; ++k) acc += taps_[k] * x[centre - k];
    y[m] = acc;
  }
  return y;
}

double Decimator::gain_at(double f) const {
  double re = 0, im = 0;
  for (std::size_t k = 0; k < taps_.size(); ++k) {
    const double ph = -2 * std::numbers::pi * f * static_cast<double>(k);
    re += taps_[k] * std::cos(ph);
    im += taps_[k] * std::sin(ph);
  }
  return std::hypot(re, im);
}

}  // namespace edgeloop::dsp
