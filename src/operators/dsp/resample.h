// Integer-factor decimation with a linear-phase anti-alias FIR (a Kaiser-windowed sinc), for
// bringing a recording to the sample rate of the others (e.g. a 48 kHz baseline to 12 kHz)
// before it meets a pipeline tuned for that rate. Offline (whole signals, in double): this
// runs where data sets are loaded, not on the shard threads.
#pragma once

#include <cstddef>
#include <vector>

#include "core/result.h"

namespace edgeloop::dsp {

// A low-pass FIR designed by the window method with a Kaiser window (Kaiser's formulas for
// the length and β): odd length, symmetric (linear phase, delay (length-1)/2 samples), the
// taps summed to 1 (unit gain at DC). Frequencies are fractions of the sample rate:
// `cutoff` the -6 dB point (0 < cutoff < 0.5), `transition` the width from passband edge to
// stopband edge (cutoff ± transition/2), `attenuation_db` the stopband attenuation and
// passband ripple (20·log10 of the ripple, 21 to 150 dB).
Result<std::vector<double>> design_lowpass(double cutoff, double transition, double attenuation_db);

class Decimator {
 public:
  // Keeps every `factor`-th sample (2 .. 64) after a low-pass whose passband ends at
  // `passband` of the new Nyquist frequency (0.5 .. 0.95) and whose stopband starts at the new
  // Nyquist, `attenuation_db` down: nothing that would fold into the new band survives above
  // that level.
  static Result<Decimator> create(int factor, double passband = 0.8, double attenuation_db = 90);

  int factor() const { return factor_; }
  const std::vector<double>& taps() const { return taps_; }
  // The filter's group delay in input samples; decimate() compensates it.
  std::size_t delay() const { return taps_.size() / 2; }

  // y[m] = Σ_k h[k] x[m·factor + delay - k] (x zero outside 0 .. n-1): output m sits at input
  // sample m·factor, with no shift. ceil(n / factor) outputs; only the kept outputs are
  // computed (the polyphase saving: factor times fewer products than filtering then
  // dropping).
  std::vector<double> decimate(const double* x, std::size_t n) const;
  std::vector<double> decimate(const std::vector<double>& x) const { return decimate(x.data(), x.size()); }

  // |H(f)| of the filter at f (fraction of the input rate), for tests and documentation.
  double gain_at(double f) const;

 private:
  int factor_ = 1;
  std::vector<double> taps_;
};

}  // namespace edgeloop::dsp
