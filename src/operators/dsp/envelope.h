// Envelope analysis for bearing diagnostics: band-pass around a structural resonance,
// demodulate (the magnitude of the analytic signal) and take the spectrum of the envelope,
// where a localized defect shows as lines at its defect frequency and harmonics.
//
// All in the frequency domain, on one window: X = FFT(hann · x); the bins of the band are
// shifted down to 0 and everything else zeroed (band-pass and analytic signal in one step: a
// one-sided spectrum); an L-point inverse FFT of those bins gives the envelope sampled at
// fs·L/n (L the power of two >= twice the band's bins: the shift leaves |a| unchanged and the
// envelope holds nothing above the band's width, so this decimation loses nothing); the
// envelope's Hann-shaped mean is removed and its power spectrum taken, at fs/n Hz per bin.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "core/result.h"
#include "operators/dsp/aligned.h"
#include "operators/dsp/fft.h"

namespace edgeloop::dsp {

class EnvelopeAnalyzer {
 public:
  // n: window size (a power of two >= 64); fs: sample rate; [low_hz, high_hz]: the band,
  // within (0, fs/2).
  static Result<std::unique_ptr<EnvelopeAnalyzer>> create(std::size_t n, double sample_rate_hz, double low_hz,
                                                          double high_hz);

  std::size_t window_size() const { return n_; }
  double sample_rate_hz() const { return fs_; }
  // The envelope spectrum: bins 0 .. bins()-1, bin k at k·bin_hz().
  std::size_t bins() const { return l_ / 2 + 1; }
  double bin_hz() const { return fs_ / static_cast<double>(n_); }
  // The envelope sample rate (fs·L/n) and the envelope of the last analyze() (L samples,
  // mean removed, Hann-tapered).
  double envelope_rate_hz() const { return fs_ * static_cast<double>(l_) / static_cast<double>(n_); }
  const float* envelope() const { return env_.data(); }

  // Analyzes n samples; returns the envelope power spectrum (bins() values).
  const float* analyze(const float* x);
  const float* spectrum() const { return spec_.data(); }

  // Σ over harmonics h = 1 .. harmonics of the largest spectrum bin within h·f·(1 ± tolerance)
  // (at least the nearest bin and its neighbours), harmonics past the spectrum's end left out.
  double harmonic_energy(double f_hz, int harmonics, double tolerance) const;
  // The median and the sum of the spectrum over bins 1 .. content_bins(): DC left out, and
  // nothing above the band's width, where the envelope of a band-limited signal has no content
  // (those empty bins would pull the median down).
  double median() const;
  double total() const;
  std::size_t content_bins() const;

 private:
  EnvelopeAnalyzer() = default;

  std::size_t n_ = 0, l_ = 0, k_lo_ = 0, k_count_ = 0;
  double fs_ = 0;
  std::unique_ptr<RealFft> fft_n_, fft_l_;
  std::unique_ptr<ComplexFft> ifft_l_;
  AlignedFloats window_, taper_l_;
  AlignedFloats re_, im_, a_re_, a_im_, env_, spec_;
  mutable std::vector<float> scratch_;
};

}  // namespace edgeloop::dsp
