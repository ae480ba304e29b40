// A physically modelled vibration signal of a rolling-element bearing (acceleration, in g), for
// the simulator and the bearing-sim evaluation. A localized defect (a spall) is struck once per
// passing: an impulse train at the defect frequency (BPFO, BPFI or 2 x BSF of the geometry at
// the shaft speed), each impact ringing the structure's resonance (a decaying sinusoid at a few
// kHz). The impacts are not exactly periodic (the rolling elements slip: a random jitter of
// 1-2 % of the period per impact). An inner-race defect turns with the shaft through the load
// zone, so its impacts are amplitude-modulated at the shaft speed; a ball defect at the cage
// speed (FTF); an outer-race defect sits still, in the load zone. On top: shaft harmonics
// (1x, 2x, 3x: imbalance, misalignment) and broadband Gaussian noise.
//
// Deterministic by seed (SimRng, two streams: noise, and the impacts' jitter and amplitude), so
// a healthy and a faulted bearing with the same seed differ exactly by the impacts.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/simulator/plant_model.h"
#include "operators/dsp/bearing.h"

namespace edgeloop {

// BearingDefect (plant_model.h): kNone, kOuterRace, kInnerRace, kBall.

struct VibrationSpec {
  double sample_rate_hz = 12000;
  // SKF 6205-2RS JEM, the drive-end bearing of the CWRU rig: BPFO 3.585, BPFI 5.415, BSF 2.357
  // times the shaft speed.
  dsp::BearingGeometry geometry{.n_balls = 9, .ball_diameter = 0.3126, .pitch_diameter = 1.537, .contact_angle_deg = 0};
  double resonance_hz = 3000;   // the structural resonance each impact excites
  double damping = 0.05;        // its damping ratio (zeta): decay time 1 / (2 pi zeta f_n)
  double impact_g = 1.0;        // peak of one impact at severity 1
  double slip = 0.015;          // standard deviation of each impact's spacing, as a share of the period
  double modulation = 0.8;      // depth of the load-zone modulation (inner race: shaft; ball: cage), 0..1
  double shaft_g = 0.2;         // 1x amplitude; 2x and 3x have a half and a quarter of it
  // Broadband noise: its RMS is impact_g / 10^(snr_db / 20), i.e. snr_db is the peak of a
  // severity-1 impact over the noise RMS (0 dB: an impact as high as the noise RMS).
  double snr_db = 6;

  double noise_rms() const;
  Status validate() const;
};

// The impact rate of a defect at a shaft speed (Hz): BPFO, BPFI, or 2 x BSF (a spall on a
// ball strikes both races once per ball revolution); 0 for kNone.
double defect_rate_hz(const dsp::BearingGeometry& g, BearingDefect d, double shaft_hz);

class BearingVibration {
 public:
  BearingVibration(const VibrationSpec& spec, uint64_t seed);

  // The next out.size() samples (time runs on from the last call): the shaft at `shaft_hz`
  // (held over the block), the defect at `severity` (0..1; 0 or kNone: healthy). `shaft_gain`
  // and `noise_gain` scale the shaft harmonics (imbalance) and the noise (cavitation).
  void generate(double shaft_hz, BearingDefect defect, double severity, std::span<float> out, double shaft_gain = 1.0,
                double noise_gain = 1.0);
  // Lets `seconds` pass without samples (between two snapshots): the shaft turns, the impacts
  // in between happen unheard, and those still ringing at the end sound into the next block.
  void skip(double seconds, double shaft_hz, BearingDefect defect, double severity);

  const VibrationSpec& spec() const { return spec_; }
  double time_s() const { return static_cast<double>(n_) / spec_.sample_rate_hz; }
  uint64_t samples() const { return n_; }  // samples generated or skipped so far
  uint64_t impacts() const { return impacts_; }  // impacts started so far

 private:
  struct Ring {
    double t0;   // start time, s
    double amp;  // peak, g
  };
  double next_spacing(double rate_hz);
  void impacts_until(double t0, double t_end, double keep_from, double shaft_hz, BearingDefect defect, double severity);

  VibrationSpec spec_;
  SimRng noise_rng_;
  SimRng impact_rng_;
  double sigma_;          // decay rate of a ring, 1/s
  double ring_len_s_;     // a ring is cut when it has decayed below 1e-4 of its peak
  double omega_d_;        // damped angular frequency
  uint64_t n_ = 0;        // samples so far
  double shaft_phase_ = 0;  // radians, at time_s()
  double cage_phase_ = 0;
  double harmonic_phase_[3];
  double next_impact_s_ = -1;  // < 0: not scheduled (healthy so far)
  BearingDefect last_defect_ = BearingDefect::kNone;
  std::vector<Ring> rings_;
  uint64_t impacts_ = 0;
};

}  // namespace edgeloop
