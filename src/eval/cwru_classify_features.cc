#include "eval/cwru_classify_features.h"

#include <algorithm>
#include <cmath>

#include "operators/dsp/bearing.h"
#include "operators/dsp/fft.h"

namespace edgeloop::eval {

namespace {

constexpr int kSpectrumBands = 12;  // 500 Hz each at 12 kHz
constexpr int kHarmonics = 3;
constexpr double kTolerance = 0.02;  // the measured rpm is within about 1 % of the true speed
// Envelope bands (Hz): the resonance band examples/cwru.yaml uses, a higher one, and a wide one.
struct Band {
  double low, high;
  const char* name;
};
constexpr Band kBands[] = {{1000, 3000, "env1k3k"}, {2500, 5000, "env2k5k"}, {500, 5800, "env05k58k"}};

// The lines looked at in the envelope spectrum, as multiples of the shaft frequency (the
// drive-end 6205-2RS, from its geometry: CWRU's BPFO 3.5848, BPFI 5.4152, FTF 0.39828,
// 2·BSF 4.7135).
struct Line {
  const char* name;
  double multiple;
};

std::vector<Line> defect_lines() {
  const dsp::BearingGeometry g{9, 0.3126, 1.537, 0};
  const dsp::DefectFrequencies d = dsp::defect_frequencies(g, 1.0);
  return {{"ftf", d.ftf}, {"shaft", 1.0}, {"bsf", d.bsf}, {"bpfo", d.bpfo}, {"bsf2", 2 * d.bsf}, {"bpfi", d.bpfi}};
}

float log_ratio(double a, double b) {
  constexpr double kTiny = 1e-30;
  return static_cast<float>(std::log10((std::max(a, 0.0) + kTiny) / (std::max(b, 0.0) + kTiny)));
}

}  // namespace

Result<std::unique_ptr<CwruFeatureExtractor>> CwruFeatureExtractor::create(std::size_t window, double sample_rate_hz) {
  if (!dsp::is_power_of_two(window) || window < 4096)
    return make_error(Errc::kInvalidArgument,
                      "the CWRU classifier needs windows of a power-of-two size from 4096 samples, got " +
                          std::to_string(window));
  if (!(sample_rate_hz > 2 * kBands[2].high) || !std::isfinite(sample_rate_hz))
    return make_error(Errc::kInvalidArgument, "the CWRU classifier needs a sample rate above 11.6 kHz");
  std::unique_ptr<CwruFeatureExtractor> fx(new CwruFeatureExtractor());
  fx->n_ = window;
  fx->fs_ = sample_rate_hz;
  dsp::FeatureConfig cfg;
  cfg.features = {"rms", "crest", "kurtosis", "skewness", "bands", "centroid"};
  cfg.bands = kSpectrumBands;
  auto stats = dsp::FeatureExtractor::create(cfg, window);
  if (!stats.ok()) return stats.take_error();
  fx->stats_ = std::move(stats).value();
  fx->scratch_.resize(fx->stats_->count());
  fx->names_ = {"log_rms", "crest", "kurtosis", "skewness"};
  for (int b = 0; b < kSpectrumBands; ++b) fx->names_.push_back("spec_frac_" + std::to_string(b));
  fx->names_.push_back("centroid_rel");
  const auto lines = defect_lines();
  for (const Band& band : kBands) {
    auto env = dsp::EnvelopeAnalyzer::create(window, sample_rate_hz, band.low, band.high);
    if (!env.ok()) return env.take_error();
    fx->envelopes_.push_back(std::move(env).value());
    for (const Line& l : lines)
      for (int h = 1; h <= kHarmonics; ++h)
        fx->names_.push_back(std::string(band.name) + "_" + l.name + "_h" + std::to_string(h));
    fx->names_.push_back(std::string(band.name) + "_bpfi_sidebands");
    fx->names_.push_back(std::string(band.name) + "_peak");
  }
  return fx;
}

void CwruFeatureExtractor::compute(const float* x, double rpm, float* out) {
  // Time-domain shape and the spectrum's distribution (as fractions: the level drops out).
  stats_->compute(x, fs_, scratch_.data());
  const double rms = scratch_[0];
  std::size_t o = 0;
  out[o++] = log_ratio(rms, 1.0);
  for (int i = 1; i <= 3; ++i) out[o++] = std::isfinite(scratch_[static_cast<std::size_t>(i)])
                                              ? static_cast<float>(scratch_[static_cast<std::size_t>(i)])
                                              : 0.0f;
  double total = 0;
  for (int b = 0; b < kSpectrumBands; ++b) total += scratch_[4 + static_cast<std::size_t>(b)];
  for (int b = 0; b < kSpectrumBands; ++b) out[o++] = log_ratio(scratch_[4 + static_cast<std::size_t>(b)], total);
  const double centroid = scratch_[4 + kSpectrumBands];
  out[o++] = std::isfinite(centroid) ? static_cast<float>(centroid / (fs_ / 2)) : 0.0f;

  // Envelope lines relative to the envelope spectrum's median (how far above the floor).
  const double fr = rpm / 60.0;
  const auto lines = defect_lines();
  for (auto& env : envelopes_) {
    env->analyze(x);
    const double med = env->median();
    for (const Line& l : lines)
      for (int h = 1; h <= kHarmonics; ++h) out[o++] = log_ratio(env->harmonic_energy(h * l.multiple * fr, 1, kTolerance), med);
    const double bpfi = lines.back().multiple * fr;
    out[o++] = log_ratio(
        (env->harmonic_energy(bpfi - fr, 1, kTolerance) + env->harmonic_energy(bpfi + fr, 1, kTolerance)) / 2, med);
    const float* spec = env->spectrum();
    float peak = 0;
    for (std::size_t k = 1; k <= env->content_bins(); ++k) peak = std::max(peak, spec[k]);
    out[o++] = log_ratio(peak, med);
  }
}

std::vector<float> cwru_window_features(CwruFeatureExtractor& fx, const std::vector<double>& x, std::size_t from,
                                        std::size_t to, std::size_t hop, double rpm, std::size_t* windows) {
  std::vector<float> rows;
  std::vector<float> w(fx.window_size());
  const std::size_t n = fx.window_size();
  to = std::min(to, x.size());
  std::size_t count = 0;
  if (hop == 0) hop = n;
  for (std::size_t at = from; at + n <= to; at += hop) {
    for (std::size_t i = 0; i < n; ++i) w[i] = static_cast<float>(x[at + i]);
    rows.resize(rows.size() + fx.count());
    fx.compute(w.data(), rpm, rows.data() + rows.size() - fx.count());
    ++count;
  }
  if (windows) *windows = count;
  return rows;
}

}  // namespace edgeloop::eval
