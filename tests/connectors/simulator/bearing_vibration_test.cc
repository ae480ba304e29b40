// The bearing vibration model: the envelope spectrum of each simulated defect peaks at its
// defect frequency, the impacts come at the defect's rate with the configured slip, noise and
// severity scale as specified, blocks join seamlessly, and a seed reproduces the samples.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "connectors/simulator/bearing_vibration.h"
#include "operators/dsp/envelope.h"

namespace edgeloop {
namespace {

constexpr double kShaftHz = 1797.0 / 60.0;  // CWRU, 0 hp
constexpr std::size_t kWindow = 16384;       // 1.37 s at 12 kHz: 0.73 Hz per bin

std::vector<float> run(const VibrationSpec& spec, BearingDefect defect, double severity, std::size_t n, uint64_t seed = 7,
                       double shaft_hz = kShaftHz) {
  BearingVibration v(spec, seed);
  std::vector<float> x(n);
  v.generate(shaft_hz, defect, severity, x);
  return x;
}

double rms(const std::vector<float>& x) {
  double s = 0;
  for (float v : x) s += static_cast<double>(v) * v;
  return std::sqrt(s / static_cast<double>(x.size()));
}

struct Named {
  double bpfo, bpfi, bsf;  // harmonic energies over the median (3 harmonics, 2 %)
  double peak_hz;          // the largest envelope line (bins above 10 Hz)
};

Named envelope_of(const std::vector<float>& x, double shaft_hz = kShaftHz) {
  auto env = dsp::EnvelopeAnalyzer::create(kWindow, 12000, 2000, 4000);
  EXPECT_TRUE(env.ok());
  const float* spec = (*env)->analyze(x.data());
  const auto f = dsp::defect_frequencies(VibrationSpec{}.geometry, shaft_hz);
  const double med = (*env)->median() * 3;
  Named n{(*env)->harmonic_energy(f.bpfo, 3, 0.02) / med, (*env)->harmonic_energy(f.bpfi, 3, 0.02) / med,
          (*env)->harmonic_energy(f.bsf, 3, 0.02) / med, 0};
  std::size_t best = 14;
  for (std::size_t k = 14; k < (*env)->content_bins(); ++k)
    if (spec[k] > spec[best]) best = k;
  n.peak_hz = static_cast<double>(best) * (*env)->bin_hz();
  return n;
}

TEST(BearingVibration, DefectRatesFollowTheGeometry) {
  const auto g = VibrationSpec{}.geometry;
  // CWRU's published multiples of the shaft speed for the 6205 drive-end bearing.
  EXPECT_NEAR(defect_rate_hz(g, BearingDefect::kOuterRace, 1) , 3.5848, 1e-3);
  EXPECT_NEAR(defect_rate_hz(g, BearingDefect::kInnerRace, 1), 5.4152, 1e-3);
  EXPECT_NEAR(defect_rate_hz(g, BearingDefect::kBall, 1), 4.7135, 1e-3);
  EXPECT_EQ(defect_rate_hz(g, BearingDefect::kNone, 30), 0.0);
}

TEST(BearingVibration, OuterRaceEnvelopePeaksAtBpfo) {
  const auto x = run(VibrationSpec{}, BearingDefect::kOuterRace, 1.0, kWindow);
  const Named n = envelope_of(x);
  const double bpfo = 3.5848 * kShaftHz;  // 107.4 Hz
  EXPECT_NEAR(n.peak_hz, bpfo, 0.01 * bpfo) << n.peak_hz;
  EXPECT_GT(n.bpfo, 4 * n.bpfi);
  EXPECT_GT(n.bpfo, 2.5 * n.bsf);  // 3 x BSF is within 2 % of 2 x BPFO for the 6205: bsf shares that line
}

TEST(BearingVibration, InnerRaceEnvelopePeaksAtBpfiWithShaftSidebands) {
  const auto x = run(VibrationSpec{}, BearingDefect::kInnerRace, 1.0, kWindow);
  const Named n = envelope_of(x);
  const double bpfi = 5.4152 * kShaftHz;  // 162.2 Hz
  EXPECT_NEAR(n.peak_hz, bpfi, 0.01 * bpfi) << n.peak_hz;
  EXPECT_GT(n.bpfi, 2 * n.bpfo);
  EXPECT_GT(n.bpfi, 2 * n.bsf);
  // The load zone modulates the impacts at the shaft speed: sidebands at BPFI +- f_r.
  auto env = dsp::EnvelopeAnalyzer::create(kWindow, 12000, 2000, 4000);
  ASSERT_TRUE(env.ok());
  (*env)->analyze(x.data());
  const double side = (*env)->harmonic_energy(bpfi - kShaftHz, 1, 0.01) + (*env)->harmonic_energy(bpfi + kShaftHz, 1, 0.01);
  EXPECT_GT(side, 10 * (*env)->median()) << side / (*env)->median();
  // An outer-race defect of the same severity has no such sidebands around its line.
  const auto o = run(VibrationSpec{}, BearingDefect::kOuterRace, 1.0, kWindow);
  (*env)->analyze(o.data());
  const double bpfo = 3.5848 * kShaftHz;
  const double o_side = (*env)->harmonic_energy(bpfo - kShaftHz, 1, 0.01) + (*env)->harmonic_energy(bpfo + kShaftHz, 1, 0.01);
  EXPECT_LT(o_side, side / 4);
}

TEST(BearingVibration, BallDefectStrikesAtTwiceTheBallSpinFrequency) {
  const auto x = run(VibrationSpec{}, BearingDefect::kBall, 1.0, kWindow);
  const Named n = envelope_of(x);
  const double two_bsf = 4.7135 * kShaftHz;  // 141.2 Hz
  EXPECT_NEAR(n.peak_hz, two_bsf, 0.01 * two_bsf) << n.peak_hz;
  EXPECT_GT(n.bsf, 2 * n.bpfo);  // harmonic 2 of BSF is the impact rate
  EXPECT_GT(n.bsf, 2 * n.bpfi);
}

TEST(BearingVibration, HealthyEnvelopeNamesNothing) {
  const auto x = run(VibrationSpec{}, BearingDefect::kNone, 0.0, kWindow);
  const Named n = envelope_of(x);
  // Noise gives 3 to 9 (the largest of a few bins per harmonic, over the median); a severity-1
  // defect 20 and more.
  EXPECT_LT(n.bpfo, 10);
  EXPECT_LT(n.bpfi, 10);
  EXPECT_LT(n.bsf, 10);
}

TEST(BearingVibration, ImpactsComeAtTheDefectRateWithSlip) {
  VibrationSpec spec;
  BearingVibration v(spec, 3);
  std::vector<float> x(120000);  // 10 s
  v.generate(kShaftHz, BearingDefect::kOuterRace, 0.5, x);
  const double expected = 10 * 3.5848 * kShaftHz;  // 1074 impacts
  EXPECT_NEAR(static_cast<double>(v.impacts()), expected, 0.01 * expected);
  // With no slip the impacts are a strict train: every gap is one period (the envelope of a
  // sub-block shows the same line as the whole).
  spec.slip = 0;
  BearingVibration strict(spec, 3);
  strict.generate(kShaftHz, BearingDefect::kOuterRace, 0.5, x);
  EXPECT_NEAR(static_cast<double>(strict.impacts()), expected, 1.0);
}

TEST(BearingVibration, NoiseAndSeverityScaleAsSpecified) {
  VibrationSpec spec;
  spec.shaft_g = 0;
  spec.snr_db = 20;  // noise RMS = impact / 10
  const auto healthy = run(spec, BearingDefect::kNone, 0, 120000);
  EXPECT_NEAR(rms(healthy), 0.1, 0.002);
  EXPECT_NEAR(spec.noise_rms(), 0.1, 1e-12);
  // The faulted signal is the healthy one plus the rings (same seed: same noise); the rings'
  // peak is the severity times the impact (within its 10 % impact-to-impact variation).
  for (double severity : {0.25, 1.0}) {
    const auto faulty = run(spec, BearingDefect::kOuterRace, severity, 120000);
    double peak = 0;
    for (std::size_t i = 0; i < faulty.size(); ++i) peak = std::max(peak, std::fabs(static_cast<double>(faulty[i] - healthy[i])));
    EXPECT_GT(peak, 0.9 * severity) << severity;
    EXPECT_LT(peak, 1.5 * severity) << severity;
  }
  // The shaft tones: 1x at shaft_g.
  spec.shaft_g = 0.2;
  spec.snr_db = 120;
  const auto shaft = run(spec, BearingDefect::kNone, 0, 120000);
  EXPECT_NEAR(rms(shaft), 0.2 * std::sqrt((1 + 0.25 + 0.0625) / 2), 0.002);
}

TEST(BearingVibration, BlocksJoinSeamlesslyAndSkipKeepsTime) {
  const VibrationSpec spec;
  const auto whole = run(spec, BearingDefect::kInnerRace, 1.0, 6000, 11);
  BearingVibration v(spec, 11);
  std::vector<float> parts(6000);
  std::size_t at = 0;
  for (std::size_t len : {1000u, 37u, 2963u, 2000u}) {
    v.generate(kShaftHz, BearingDefect::kInnerRace, 1.0, std::span<float>(parts).subspan(at, len));
    at += len;
  }
  for (std::size_t i = 0; i < whole.size(); ++i) ASSERT_NEAR(parts[i], whole[i], 1e-4) << i;
  EXPECT_EQ(v.samples(), 6000u);
  v.skip(0.5, kShaftHz, BearingDefect::kInnerRace, 1.0);
  EXPECT_EQ(v.samples(), 12000u);
  EXPECT_DOUBLE_EQ(v.time_s(), 1.0);
  // About 81 impacts per half second happened unheard.
  EXPECT_NEAR(static_cast<double>(v.impacts()), 162.2, 3);
}

TEST(BearingVibration, TheSeedReproducesTheSamples) {
  const VibrationSpec spec;
  const auto a = run(spec, BearingDefect::kBall, 0.7, 5000, 42);
  const auto b = run(spec, BearingDefect::kBall, 0.7, 5000, 42);
  const auto c = run(spec, BearingDefect::kBall, 0.7, 5000, 43);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  // Fixed values: SimRng and no std:: distributions, so only libm's last bits may differ.
  EXPECT_NEAR(a[0], 0.0747457072, 1e-6);
  EXPECT_NEAR(a[2], 0.910499632, 1e-6);
  EXPECT_NEAR(a[1000], 0.144803524, 1e-6);
  EXPECT_NEAR(a[4999], 0.4311077, 1e-6);
}

TEST(BearingVibration, RejectsImpossibleSpecs) {
  VibrationSpec s;
  EXPECT_TRUE(s.validate().ok());
  s.resonance_hz = 6000;
  EXPECT_NE(s.validate().error().message.find("below 0.45 x the sample rate"), std::string::npos);
  s = VibrationSpec{};
  s.geometry.ball_diameter = 2;
  EXPECT_NE(s.validate().error().message.find("smaller than pitch_diameter"), std::string::npos);
  s = VibrationSpec{};
  s.damping = 0;
  EXPECT_FALSE(s.validate().ok());
}

}  // namespace
}  // namespace edgeloop
