#include "operators/dsp/envelope.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <vector>

#include "operators/dsp/bearing.h"
#include "operators/dsp/synthetic.h"

namespace edgeloop::dsp {
namespace {

// The CWRU drive-end bearing (SKF 6205-2RS JEM): 9 balls, d = 0.3126 in, D = 1.537 in. CWRU
// publishes the defect frequencies as multiples of the shaft speed: inner 5.4152, outer
// 3.5848, cage 0.39828, rolling element 4.7135 (that is 2·BSF: a ball spall hits both races).
BearingGeometry cwru() { return BearingGeometry{9, 0.3126, 1.537, 0}; }

TEST(Bearing, DefectFrequenciesMatchThePublishedMultiples) {
  ASSERT_TRUE(validate(cwru()).ok());
  const DefectFrequencies f = defect_frequencies(cwru(), 1.0);
  EXPECT_NEAR(f.bpfi, 5.4152, 1e-4);
  EXPECT_NEAR(f.bpfo, 3.5848, 1e-4);
  EXPECT_NEAR(f.ftf, 0.39828, 5e-5);  // 0.398308 from the dimensions; CWRU rounds it down
  EXPECT_NEAR(2 * f.bsf, 4.7135, 1e-4);
  // Linear in the shaft speed; BPFO + BPFI = n·f_r; BPFO = n·FTF.
  const DefectFrequencies g = defect_frequencies(cwru(), 1797.0 / 60);
  EXPECT_DOUBLE_EQ(g.bpfo + g.bpfi, 9 * 1797.0 / 60);
  EXPECT_DOUBLE_EQ(g.bpfo, 9 * g.ftf);
  // A contact angle shortens the effective ball ratio.
  const DefectFrequencies a = defect_frequencies(BearingGeometry{9, 0.3126, 1.537, 60}, 1.0);
  EXPECT_NEAR(a.bpfo, 4.5 * (1 - 0.3126 / 1.537 * 0.5), 1e-12);
}

TEST(Bearing, RejectsImpossibleGeometry) {
  EXPECT_FALSE(validate(BearingGeometry{0, 1, 5, 0}).ok());
  EXPECT_FALSE(validate(BearingGeometry{9, 5, 5, 0}).ok());
  EXPECT_FALSE(validate(BearingGeometry{9, -1, 5, 0}).ok());
  EXPECT_FALSE(validate(BearingGeometry{9, 1, 5, 90}).ok());
}

struct Analysis {
  std::unique_ptr<EnvelopeAnalyzer> a;
  std::size_t peak_bin = 0;
};

// Impacts at `defect_hz` ringing at 3 kHz, plus shaft and noise; returns the analyzer after
// one 8192-sample window, and the largest envelope-spectrum bin between 20 Hz and 1 kHz.
Analysis analyze(double defect_hz, double noise) {
  BearingSignal s;
  s.sample_rate_hz = 25600;
  s.shaft_hz = 29.95;
  s.defect_hz = defect_hz;
  s.resonance_hz = 3000;
  s.impact = 1.0;
  s.noise = noise;
  const std::size_t n = 8192;
  std::vector<float> x(n);
  bearing_samples(s, 1000, n, x.data());
  auto a = EnvelopeAnalyzer::create(n, s.sample_rate_hz, 2000, 4000);
  EXPECT_TRUE(a.ok());
  Analysis out{std::move(a).value(), 0};
  const float* spec = out.a->analyze(x.data());
  double best = -1;
  for (std::size_t k = 1; k < out.a->bins(); ++k) {
    const double f = static_cast<double>(k) * out.a->bin_hz();
    if (f < 20 || f > 1000) continue;
    if (spec[k] > best) {
      best = spec[k];
      out.peak_bin = k;
    }
  }
  return out;
}

TEST(Envelope, AnOuterRaceDefectPeaksAtBpfo) {
  const DefectFrequencies d = defect_frequencies(cwru(), 29.95);
  const Analysis r = analyze(d.bpfo, 0.5);
  ASSERT_TRUE(r.a);
  EXPECT_DOUBLE_EQ(r.a->bin_hz(), 3.125);
  // The decimated envelope: 2000 Hz of band in 640 bins -> L = 2048 points at 6400 Hz.
  EXPECT_DOUBLE_EQ(r.a->envelope_rate_hz(), 6400.0);
  EXPECT_NEAR(static_cast<double>(r.peak_bin) * r.a->bin_hz(), d.bpfo, r.a->bin_hz());
  const double med = r.a->median() * 3;
  const double bpfo = r.a->harmonic_energy(d.bpfo, 3, 0.02) / med;
  const double bpfi = r.a->harmonic_energy(d.bpfi, 3, 0.02) / med;
  const double ftf = r.a->harmonic_energy(d.ftf, 3, 0.02) / med;
  // BPFI's 2nd harmonic (324.4 Hz) lies within a bin of BPFO's 3rd (322.1 Hz), so BPFI gets a
  // share: BPFO still leads by far.
  EXPECT_GT(bpfo, 100.0);
  EXPECT_GT(bpfo, 4 * bpfi);
  EXPECT_GT(bpfo, 10 * ftf);
}

TEST(Envelope, AnInnerRaceDefectPeaksAtBpfi) {
  const DefectFrequencies d = defect_frequencies(cwru(), 29.95);
  const Analysis r = analyze(d.bpfi, 0.5);
  EXPECT_NEAR(static_cast<double>(r.peak_bin) * r.a->bin_hz(), d.bpfi, r.a->bin_hz());
  EXPECT_GT(r.a->harmonic_energy(d.bpfi, 3, 0.02), 3 * r.a->harmonic_energy(d.bpfo, 3, 0.02));
}

// Noise alone: nothing stands out, every defect energy stays near the median level.
TEST(Envelope, NoiseAloneNamesNoDefect) {
  BearingSignal s;
  s.impact = 0;
  s.noise = 1.0;
  std::vector<float> x(8192);
  bearing_samples(s, 0, x.size(), x.data());
  auto a = EnvelopeAnalyzer::create(x.size(), s.sample_rate_hz, 2000, 4000);
  ASSERT_TRUE(a.ok());
  (*a)->analyze(x.data());
  const DefectFrequencies d = defect_frequencies(cwru(), 29.95);
  const double med = (*a)->median() * 3;
  for (double f : {d.bpfo, d.bpfi, d.bsf}) EXPECT_LT((*a)->harmonic_energy(f, 3, 0.02) / med, 20.0) << f;
  EXPECT_GT((*a)->total(), 0.0);
}

TEST(Envelope, RejectsBandsAndSizesItCannotUse) {
  EXPECT_FALSE(EnvelopeAnalyzer::create(8192, 25600, 2000, 13000).ok());  // past Nyquist
  EXPECT_FALSE(EnvelopeAnalyzer::create(8192, 25600, 3000, 2000).ok());
  EXPECT_FALSE(EnvelopeAnalyzer::create(1000, 25600, 2000, 4000).ok());
  EXPECT_FALSE(EnvelopeAnalyzer::create(64, 25600, 3000, 3100).ok());  // under 2 bins of 400 Hz
  EXPECT_TRUE(EnvelopeAnalyzer::create(64, 25600, 2000, 6000).ok());
}

}  // namespace
}  // namespace edgeloop::dsp
