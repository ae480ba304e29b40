#include "connectors/simulator/bearing_vibration.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace edgeloop {

namespace {

constexpr double kTwoPi = 2.0 * std::numbers::pi;
constexpr double kRingFloor = 1e-4;          // a ring is cut below this share of its peak
constexpr double kImpactAmplitudeSd = 0.10;  // impact-to-impact variation of the peak
constexpr uint64_t kImpactStream = 0xB5AD4ECEDA1CE2A9ULL;

}  // namespace

double VibrationSpec::noise_rms() const { return impact_g / std::pow(10.0, snr_db / 20.0); }

Status VibrationSpec::validate() const {
  EDGELOOP_TRY(dsp::validate(geometry));
  if (!(sample_rate_hz >= 1000 && sample_rate_hz <= 1e6)) {
    return make_error(Errc::kInvalidArgument, "sample_rate must be between 1000 and 1e6 Hz");
  }
  if (!(resonance_hz > 0 && resonance_hz < 0.45 * sample_rate_hz)) {
    return make_error(Errc::kInvalidArgument, "the resonance must be above 0 and below 0.45 x the sample rate (" +
                                                  std::to_string(0.45 * sample_rate_hz) + " Hz)");
  }
  if (!(damping > 0 && damping < 1)) return make_error(Errc::kInvalidArgument, "damping must be between 0 and 1 (exclusive)");
  if (!(slip >= 0 && slip <= 0.2)) return make_error(Errc::kInvalidArgument, "slip must be between 0 and 0.2");
  if (!(modulation >= 0 && modulation <= 1)) return make_error(Errc::kInvalidArgument, "modulation must be between 0 and 1");
  if (!(impact_g >= 0) || !(shaft_g >= 0)) return make_error(Errc::kInvalidArgument, "amplitudes cannot be negative");
  if (!std::isfinite(snr_db)) return make_error(Errc::kInvalidArgument, "snr_db must be a number");
  return Status::Ok();
}

double defect_rate_hz(const dsp::BearingGeometry& g, BearingDefect d, double shaft_hz) {
  const dsp::DefectFrequencies f = dsp::defect_frequencies(g, shaft_hz);
  switch (d) {
    case BearingDefect::kOuterRace: return f.bpfo;
    case BearingDefect::kInnerRace: return f.bpfi;
    case BearingDefect::kBall: return 2 * f.bsf;
    case BearingDefect::kNone: break;
  }
  return 0;
}

BearingVibration::BearingVibration(const VibrationSpec& spec, uint64_t seed)
    : spec_(spec), noise_rng_(seed), impact_rng_(seed ^ kImpactStream) {
  const double wn = kTwoPi * spec_.resonance_hz;
  sigma_ = spec_.damping * wn;
  omega_d_ = wn * std::sqrt(1 - spec_.damping * spec_.damping);
  ring_len_s_ = std::log(1 / kRingFloor) / sigma_;
  for (double& p : harmonic_phase_) p = impact_rng_.uniform() * kTwoPi;
}

double BearingVibration::next_spacing(double rate_hz) {
  const double jitter = std::clamp(impact_rng_.normal(), -3.0, 3.0) * spec_.slip;
  return std::max(0.2, 1 + jitter) / rate_hz;
}

// Schedules the impacts due before t_end (time runs from t0, where the phases are those of the
// members); those still ringing at keep_from are kept. The load zone: an
// outer-race spall sits in it; an inner-race spall passes through it once per shaft turn, a
// ball spall once per cage turn, and is struck hardest there.
void BearingVibration::impacts_until(double t0, double t_end, double keep_from, double shaft_hz, BearingDefect defect,
                                     double severity) {
  const double rate = severity > 0 ? defect_rate_hz(spec_.geometry, defect, shaft_hz) : 0.0;
  if (!(rate > 0)) {
    next_impact_s_ = -1;
    last_defect_ = BearingDefect::kNone;
    return;
  }
  if (next_impact_s_ < 0 || defect != last_defect_) next_impact_s_ = t0 + impact_rng_.uniform() / rate;
  last_defect_ = defect;
  const double ftf = dsp::defect_frequencies(spec_.geometry, shaft_hz).ftf;
  while (next_impact_s_ < t_end) {
    const double ti = next_impact_s_;
    double m = 1;
    if (defect == BearingDefect::kInnerRace || defect == BearingDefect::kBall) {
      const double phase = defect == BearingDefect::kInnerRace ? shaft_phase_ + kTwoPi * shaft_hz * (ti - t0)
                                                                : cage_phase_ + kTwoPi * ftf * (ti - t0);
      m = 1 - spec_.modulation + spec_.modulation * 0.5 * (1 + std::cos(phase));
    }
    const double amp = severity * spec_.impact_g * m * std::max(0.0, 1 + kImpactAmplitudeSd * impact_rng_.normal());
    if (ti + ring_len_s_ > keep_from) rings_.push_back({ti, amp});
    ++impacts_;
    next_impact_s_ += next_spacing(rate);
  }
}

void BearingVibration::generate(double shaft_hz, BearingDefect defect, double severity, std::span<float> out,
                                double shaft_gain, double noise_gain) {
  const double fs = spec_.sample_rate_hz;
  const double dt = 1 / fs;
  const double t0 = time_s();
  const std::size_t n = out.size();
  const double t_end = t0 + static_cast<double>(n) * dt;
  shaft_hz = std::max(shaft_hz, 0.0);
  const double ftf = dsp::defect_frequencies(spec_.geometry, shaft_hz).ftf;

  // Shaft harmonics and noise.
  const double noise = spec_.noise_rms() * noise_gain;
  const double a1 = spec_.shaft_g * shaft_gain;
  const double w = kTwoPi * shaft_hz * dt;
  for (std::size_t k = 0; k < n; ++k) {
    const double ph = shaft_phase_ + w * static_cast<double>(k);
    const double shaft = a1 * (std::sin(ph + harmonic_phase_[0]) + 0.5 * std::sin(2 * ph + harmonic_phase_[1]) +
                               0.25 * std::sin(3 * ph + harmonic_phase_[2]));
    out[k] = static_cast<float>(shaft + noise * noise_rng_.normal());
  }

  impacts_until(t0, t_end, t0, shaft_hz, defect, severity);

  // Every ring that sounds in this block, at its exact (off-grid) start.
  for (const Ring& r : rings_) {
    const double from = std::max(r.t0, t0);
    const double to = std::min(r.t0 + ring_len_s_, t_end);
    if (!(to > from)) continue;
    auto k = static_cast<std::size_t>(std::ceil((from - t0) * fs - 1e-9));
    const auto k_end = std::min(n, static_cast<std::size_t>(std::ceil((to - t0) * fs)));
    for (; k < k_end; ++k) {
      const double tau = t0 + static_cast<double>(k) * dt - r.t0;
      if (tau < 0) continue;
      out[k] += static_cast<float>(r.amp * std::exp(-sigma_ * tau) * std::sin(omega_d_ * tau));
    }
  }
  std::erase_if(rings_, [&](const Ring& r) { return r.t0 + ring_len_s_ <= t_end; });

  n_ += n;
  shaft_phase_ = std::fmod(shaft_phase_ + kTwoPi * shaft_hz * static_cast<double>(n) * dt, kTwoPi);
  cage_phase_ = std::fmod(cage_phase_ + kTwoPi * ftf * static_cast<double>(n) * dt, kTwoPi);
}

void BearingVibration::skip(double seconds, double shaft_hz, BearingDefect defect, double severity) {
  if (!(seconds > 0)) return;
  shaft_hz = std::max(shaft_hz, 0.0);
  const double t0 = time_s();
  n_ += static_cast<uint64_t>(std::llround(seconds * spec_.sample_rate_hz));
  const double t_end = time_s();
  // The impacts in the gap happen (the jitter stream advances); those still ringing at its end
  // sound into the next block.
  impacts_until(t0, t_end, t_end, shaft_hz, defect, severity);
  std::erase_if(rings_, [&](const Ring& r) { return r.t0 + ring_len_s_ <= t_end; });
  const double span = t_end - t0;
  shaft_phase_ = std::fmod(shaft_phase_ + kTwoPi * shaft_hz * span, kTwoPi);
  cage_phase_ = std::fmod(cage_phase_ + kTwoPi * dsp::defect_frequencies(spec_.geometry, shaft_hz).ftf * span, kTwoPi);
}

}  // namespace edgeloop
