// The feature vector of one window of a CWRU drive-end signal for the fault classifier
// (cwru_classify.h): the same code computes the training features (`edgeloop eval cwru
// --export-features`) and the inference input (`--model`), on edgeloop's DSP kernels
// (operators/dsp: FeatureExtractor, EnvelopeAnalyzer). The features are in units that carry
// across motor loads (the shaft speed changes with the load): envelope-spectrum lines at the
// defect frequencies computed from each window's rpm and divided by the spectrum's median,
// spectral band fractions, and dimensionless shape statistics; only `log_rms` is a level.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "operators/dsp/envelope.h"
#include "operators/dsp/features.h"

namespace edgeloop::eval {

inline constexpr std::size_t kCwruClassifyWindow = 8192;  // 0.68 s at 12 kHz: 1.46 Hz envelope bins
inline constexpr std::size_t kCwruClassifyHop = 2048;

class CwruFeatureExtractor {
 public:
  // Windows of `window` samples (a power of two, >= 4096) at `sample_rate_hz` (> 11.6 kHz:
  // the widest envelope band ends at 5.8 kHz).
  static Result<std::unique_ptr<CwruFeatureExtractor>> create(std::size_t window, double sample_rate_hz);

  std::size_t window_size() const { return n_; }
  // In output order (the model's sidecar lists the same names; a mismatch is a load error).
  const std::vector<std::string>& names() const { return names_; }
  std::size_t count() const { return names_.size(); }
  // x: window_size() samples (g); rpm: the shaft speed; out: count() values, all finite.
  void compute(const float* x, double rpm, float* out);

 private:
  CwruFeatureExtractor() = default;

  std::size_t n_ = 0;
  double fs_ = 0;
  std::vector<std::string> names_;
  std::unique_ptr<dsp::FeatureExtractor> stats_;
  std::vector<std::unique_ptr<dsp::EnvelopeAnalyzer>> envelopes_;
  std::vector<double> scratch_;
};

// The feature rows of x[from, to): windows of the extractor's size every `hop` samples
// (window k starts at from + k·hop; a partial last window is left out), as floats, row-major.
std::vector<float> cwru_window_features(CwruFeatureExtractor& fx, const std::vector<double>& x, std::size_t from,
                                        std::size_t to, std::size_t hop, double rpm, std::size_t* windows);

}  // namespace edgeloop::eval
