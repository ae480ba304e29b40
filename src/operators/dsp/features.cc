#include "operators/dsp/features.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

namespace edgeloop::dsp {

namespace {

constexpr int kLanes = 16;  // independent accumulators: a few vector registers, short chains

struct RawSums {
  double s[4];  // Σ d, Σ d², Σ d³, Σ d⁴ with d = y - shift
  double sq;    // Σ y²
  float min, max;
};

// One pass over the window: shifted power sums in double, extremes in float (exact).
EDGELOOP_DSP_CLONES
RawSums raw_sums(const float* __restrict x, std::size_t n, double shift) {
  double s1[kLanes] = {}, s2[kLanes] = {}, s3[kLanes] = {}, s4[kLanes] = {}, sq[kLanes] = {};
  float lo[kLanes], hi[kLanes];
  for (int j = 0; j < kLanes; ++j) lo[j] = hi[j] = x[0];
  std::size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int j = 0; j < kLanes; ++j) {
      const float v = x[i + static_cast<std::size_t>(j)];
      const double y = v;
      const double d = y - shift;
      const double d2 = d * d;
      s1[j] += d;
      s2[j] += d2;
      s3[j] += d2 * d;
      s4[j] += d2 * d2;
      sq[j] += y * y;
      lo[j] = v < lo[j] ? v : lo[j];
      hi[j] = v > hi[j] ? v : hi[j];
    }
  }
  RawSums r{{0, 0, 0, 0}, 0, x[0], x[0]};
  for (int j = 0; j < kLanes; ++j) {
    r.s[0] += s1[j];
    r.s[1] += s2[j];
    r.s[2] += s3[j];
    r.s[3] += s4[j];
    r.sq += sq[j];
    r.min = lo[j] < r.min ? lo[j] : r.min;
    r.max = hi[j] > r.max ? hi[j] : r.max;
  }
  for (; i < n; ++i) {
    const double y = x[i];
    const double d = y - shift;
    r.s[0] += d;
    r.s[1] += d * d;
    r.s[2] += d * d * d;
    r.s[3] += d * d * d * d;
    r.sq += y * y;
    r.min = x[i] < r.min ? x[i] : r.min;
    r.max = x[i] > r.max ? x[i] : r.max;
  }
  return r;
}

EDGELOOP_DSP_CLONES
double sum_range(const float* __restrict p, std::size_t n) {
  double acc[kLanes] = {};
  std::size_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) acc[j] += p[i + static_cast<std::size_t>(j)];
  double s = 0;
  for (int j = 0; j < kLanes; ++j) s += acc[j];
  for (; i < n; ++i) s += p[i];
  return s;
}

struct CatalogEntry {
  const char* name;
  FeatureKind kind;
  bool spectral;
  const char* meaning;
};

constexpr CatalogEntry kCatalog[] = {
    {"rms", FeatureKind::kRms, false, "sqrt(Σ y² / n), about zero (not about the mean)"},
    {"peak", FeatureKind::kPeak, false, "max |y|"},
    {"crest", FeatureKind::kCrest, false, "peak / rms"},
    {"kurtosis", FeatureKind::kKurtosis, false, "m4 / m2² (population moments about the mean; not excess: 3 for a Gaussian)"},
    {"skewness", FeatureKind::kSkewness, false, "m3 / m2^1.5"},
    {"mean", FeatureKind::kMean, false, "Σ y / n"},
    {"std", FeatureKind::kStd, false, "sqrt(m2), the population standard deviation"},
    {"p2p", FeatureKind::kPeakToPeak, false, "max y - min y"},
    {"bands", FeatureKind::kBands, true,
     "`bands` energies Σ|X[k]|² of the windowed spectrum over equal runs of bins 0 .. n/2-1 (Nyquist left out), "
     "unscaled; named band_0 .."},
    {"centroid", FeatureKind::kCentroid, true, "Σ f_k |X[k]|² / Σ |X[k]|² over bins 0 .. n/2-1, in Hz"},
    {"dominant", FeatureKind::kDominant, true, "frequency of the largest |X[k]|² for k = 1 .. n/2-1, in Hz"},
};

const CatalogEntry* find_entry(const std::string& name) {
  for (const auto& e : kCatalog)
    if (name == e.name) return &e;
  return nullptr;
}

}  // namespace

double Moments::peak() const { return std::max(std::fabs(static_cast<double>(min)), std::fabs(static_cast<double>(max))); }
double Moments::kurtosis() const { return m2 > 0 ? m4 / (m2 * m2) : std::numeric_limits<double>::quiet_NaN(); }
double Moments::skewness() const { return m2 > 0 ? m3 / std::pow(m2, 1.5) : std::numeric_limits<double>::quiet_NaN(); }

Moments compute_moments(const float* x, std::size_t n) {
  Moments m;
  if (n == 0) return m;
  const double shift = x[0];
  const RawSums r = raw_sums(x, n, shift);
  const double inv = 1.0 / static_cast<double>(n);
  const double a = r.s[0] * inv;  // mean - shift
  const double p2 = r.s[1] * inv, p3 = r.s[2] * inv, p4 = r.s[3] * inv;
  m.mean = shift + a;
  m.rms = std::sqrt(r.sq * inv);
  // Central moments from the shifted ones (binomial expansion about a).
  m.m2 = std::max(0.0, p2 - a * a);
  m.m3 = p3 - 3 * a * p2 + 2 * a * a * a;
  m.m4 = std::max(0.0, p4 - 4 * a * p3 + 6 * a * a * p2 - 3 * a * a * a * a);
  m.min = r.min;
  m.max = r.max;
  return m;
}

void band_energies(const float* power, std::size_t bins, int bands, double* out) {
  const auto nb = static_cast<std::size_t>(bands);
  for (std::size_t b = 0; b < nb; ++b) {
    const std::size_t lo = b * bins / nb, hi = (b + 1) * bins / nb;
    out[b] = sum_range(power + lo, hi - lo);
  }
}

const std::vector<std::pair<std::string, std::string>>& feature_catalog() {
  static const std::vector<std::pair<std::string, std::string>> list = [] {
    std::vector<std::pair<std::string, std::string>> v;
    for (const auto& e : kCatalog) v.emplace_back(e.name, e.meaning);
    return v;
  }();
  return list;
}

Result<std::vector<std::string>> FeatureExtractor::output_names(const FeatureConfig& config) {
  if (config.features.empty()) return make_error(Errc::kInvalidArgument, "no features listed");
  std::vector<std::string> names;
  for (std::size_t i = 0; i < config.features.size(); ++i) {
    const std::string& f = config.features[i];
    const CatalogEntry* e = find_entry(f);
    if (!e) {
      std::string known;
      for (const auto& c : kCatalog) known += (known.empty() ? "" : ", ") + std::string(c.name);
      return make_error(Errc::kInvalidArgument, "unknown feature '" + f + "' (" + known + ")");
    }
    for (std::size_t j = 0; j < i; ++j)
      if (config.features[j] == f) return make_error(Errc::kInvalidArgument, "feature '" + f + "' is listed twice");
    if (e->kind == FeatureKind::kBands) {
      if (config.bands < 1 || config.bands > kMaxBands)
        return make_error(Errc::kInvalidArgument, "bands must be 1 to " + std::to_string(kMaxBands));
      for (int b = 0; b < config.bands; ++b) names.push_back("band_" + std::to_string(b));
    } else {
      names.emplace_back(e->name);
    }
  }
  return names;
}

Result<std::unique_ptr<FeatureExtractor>> FeatureExtractor::create(const FeatureConfig& config, std::size_t n) {
  auto names = output_names(config);
  if (!names.ok()) return names.take_error();
  std::unique_ptr<FeatureExtractor> fx(new FeatureExtractor());
  fx->n_ = n;
  fx->names_ = std::move(names).value();
  for (const std::string& f : config.features) {
    const CatalogEntry* e = find_entry(f);
    fx->kinds_.push_back(e->kind);
    if (e->spectral) fx->need_spectrum_ = true;
    else fx->need_moments_ = true;
    if (e->kind == FeatureKind::kBands) fx->bands_ = config.bands;
  }
  if (n == 0) return make_error(Errc::kInvalidArgument, "an empty window");
  if (fx->need_spectrum_) {
    if (!is_power_of_two(n) || n < 4)
      return make_error(Errc::kInvalidArgument, "spectral features need a window of a power-of-two size (4 or more), got " +
                                                    std::to_string(n) + " samples");
    if (fx->bands_ > 0 && n / 2 < 2 * static_cast<std::size_t>(fx->bands_))
      return make_error(Errc::kInvalidArgument, std::to_string(fx->bands_) + " bands need a window of at least " +
                                                    std::to_string(4 * fx->bands_) + " samples, got " + std::to_string(n));
    auto fft = RealFft::create(n);
    if (!fft.ok()) return fft.take_error();
    fx->fft_ = std::move(fft).value();
    if (config.window != WindowKind::kNone) fx->window_ = make_window(config.window, n);
    fx->power_.assign(n / 2 + 1, 0.0f);
  }
  return fx;
}

void FeatureExtractor::compute(const float* x, double sample_rate_hz, double* out) {
  Moments m;
  if (need_moments_) m = compute_moments(x, n_);
  const std::size_t half = n_ / 2;
  if (need_spectrum_) fft_->power(x, window_.empty() ? nullptr : window_.data(), power_.data());
  const double bin_hz = sample_rate_hz / static_cast<double>(n_);
  std::size_t o = 0;
  for (FeatureKind k : kinds_) {
    switch (k) {
      case FeatureKind::kRms: out[o++] = m.rms; break;
      case FeatureKind::kPeak: out[o++] = m.peak(); break;
      case FeatureKind::kCrest: out[o++] = m.rms > 0 ? m.peak() / m.rms : std::numeric_limits<double>::quiet_NaN(); break;
      case FeatureKind::kKurtosis: out[o++] = m.kurtosis(); break;
      case FeatureKind::kSkewness: out[o++] = m.skewness(); break;
      case FeatureKind::kMean: out[o++] = m.mean; break;
      case FeatureKind::kStd: out[o++] = std::sqrt(m.m2); break;
      case FeatureKind::kPeakToPeak: out[o++] = static_cast<double>(m.max) - static_cast<double>(m.min); break;
      case FeatureKind::kBands:
        band_energies(power_.data(), half, bands_, out + o);
        o += static_cast<std::size_t>(bands_);
        break;
      case FeatureKind::kCentroid: {
        double num = 0, den = 0;
        for (std::size_t b = 0; b < half; ++b) {
          num += static_cast<double>(b) * power_[b];
          den += power_[b];
        }
        out[o++] = den > 0 ? num / den * bin_hz : std::numeric_limits<double>::quiet_NaN();
        break;
      }
      case FeatureKind::kDominant: {
        std::size_t best = 1;
        for (std::size_t b = 2; b < half; ++b)
          if (power_[b] > power_[best]) best = b;
        out[o++] = static_cast<double>(best) * bin_hz;
        break;
      }
    }
  }
}

}  // namespace edgeloop::dsp
