// The features of one window of samples (op.features, and the V1 bench): time-domain
// statistics in one pass with double accumulation, and band energies, centroid and dominant
// frequency of the windowed power spectrum (see README.md for the exact definitions).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "operators/dsp/aligned.h"
#include "operators/dsp/fft.h"
#include "operators/dsp/window_function.h"

namespace edgeloop::dsp {

// Time-domain statistics of a window. Population moments about the mean (m_k = Σ(y-μ)^k / n),
// accumulated in double about a shift (the first sample) so that a large offset costs no
// precision.
struct Moments {
  double mean = 0;
  double rms = 0;  // about zero, not about the mean
  double m2 = 0, m3 = 0, m4 = 0;
  float min = 0, max = 0;
  double peak() const;       // max |y|
  double kurtosis() const;   // m4 / m2², not excess (a Gaussian gives 3); NaN for a constant window
  double skewness() const;   // m3 / m2^1.5; NaN for a constant window
};
Moments compute_moments(const float* x, std::size_t n);

// Σ power[k] over band b's bins: band b of `bands` covers k = floor(b·bins/bands) ..
// floor((b+1)·bins/bands) - 1 (equal bands when bands divides bins). Accumulated in double.
void band_energies(const float* power, std::size_t bins, int bands, double* out);

enum class FeatureKind : uint8_t {
  kRms, kPeak, kCrest, kKurtosis, kSkewness, kMean, kStd, kPeakToPeak,
  kBands, kCentroid, kDominant,
};

struct FeatureConfig {
  // In output order; `bands` expands to `bands` values named band_0 .. band_{bands-1}.
  std::vector<std::string> features = {"rms", "peak", "crest", "kurtosis", "skewness", "bands"};
  int bands = 8;
  WindowKind window = WindowKind::kHann;
};

// The feature names that op.features accepts, with a one-line meaning each (for the docs).
const std::vector<std::pair<std::string, std::string>>& feature_catalog();

class FeatureExtractor {
 public:
  static constexpr int kMaxBands = 256;
  // Validates the config (unknown or repeated names, bands out of range) without a window size.
  static Result<std::vector<std::string>> output_names(const FeatureConfig& config);
  // For windows of n samples. The spectral features need n to be a power of two (>= 4) and
  // at least 2 bins per band.
  static Result<std::unique_ptr<FeatureExtractor>> create(const FeatureConfig& config, std::size_t n);

  std::size_t window_size() const { return n_; }
  const std::vector<std::string>& names() const { return names_; }
  std::size_t count() const { return names_.size(); }
  // x: window_size() samples; out: count() values. sample_rate_hz scales centroid and dominant.
  void compute(const float* x, double sample_rate_hz, double* out);
  // The power spectrum of the last compute() (bins 0 .. n/2), when it needed one.
  const float* last_power() const { return power_.data(); }

 private:
  FeatureExtractor() = default;

  std::size_t n_ = 0;
  int bands_ = 0;
  std::vector<FeatureKind> kinds_;
  std::vector<std::string> names_;
  bool need_moments_ = false;
  bool need_spectrum_ = false;
  std::unique_ptr<RealFft> fft_;
  AlignedFloats window_;  // empty for WindowKind::kNone
  AlignedFloats power_;
};

}  // namespace edgeloop::dsp
