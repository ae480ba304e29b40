#include "operators/dsp/synthetic.h"

#include <cmath>
#include <numbers>

namespace edgeloop::dsp {

double splitmix_unit(uint64_t seed, uint64_t i) {
  uint64_t z = i * 0x9E3779B97F4A7C15ULL + seed;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * 0x1p-53;
}

float v1_sample(int channel, uint64_t n, uint64_t seed) {
  constexpr double kPi = std::numbers::pi;
  const double t = static_cast<double>(n) / kV1SampleRate;
  const double f = 29.95 + channel;
  const double period = 1.0 / (107.4 + channel);
  const double tau = std::fmod(t, period);
  const double shaft = 0.5 * std::sin(2 * kPi * f * t);
  const double harmonic = 0.2 * std::sin(2 * kPi * (3 * f) * t);
  const double impacts = 2.0 * std::exp(-tau / 0.002) * std::sin(2 * kPi * 3000 * tau);
  const uint64_t i = (static_cast<uint64_t>(channel) << 32) + n + 1;
  const double noise = splitmix_unit(seed, i) * 0.2 - 0.1;
  return static_cast<float>(((shaft + harmonic) + impacts) + noise);
}

void v1_samples(int channel, uint64_t first, std::size_t count, float* out, uint64_t seed) {
  for (std::size_t k = 0; k < count; ++k) out[k] = v1_sample(channel, first + k, seed);
}

void bearing_samples(const BearingSignal& s, uint64_t first, std::size_t count, float* out) {
  constexpr double kPi = std::numbers::pi;
  const double period = 1.0 / s.defect_hz;
  for (std::size_t k = 0; k < count; ++k) {
    const uint64_t n = first + k;
    const double t = static_cast<double>(n) / s.sample_rate_hz;
    const double tau = std::fmod(t, period);
    const double shaft = s.shaft_amplitude * std::sin(2 * kPi * s.shaft_hz * t);
    const double ring = s.impact * std::exp(-tau / s.decay_s) * std::sin(2 * kPi * s.resonance_hz * tau);
    const double noise = (splitmix_unit(s.seed, n + 1) * 2 - 1) * s.noise;
    out[k] = static_cast<float>(shaft + ring + noise);
  }
}

}  // namespace edgeloop::dsp
