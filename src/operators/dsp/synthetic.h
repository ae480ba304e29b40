// Synthetic vibration signals with known properties, for tests, benchmarks and the simulator.
#pragma once

#include <cstddef>
#include <cstdint>

namespace edgeloop::dsp {

// The V1 benchmark signal (../shared/bench/v1/README.md, "The signal"): sample n of channel c
// at 25.6 kHz, every term in double, summed in the README's order and rounded once to float.
inline constexpr double kV1SampleRate = 25600.0;
float v1_sample(int channel, uint64_t n, uint64_t seed = 0);
// Samples first .. first + count - 1 of a channel into out.
void v1_samples(int channel, uint64_t first, std::size_t count, float* out, uint64_t seed = 0);

// A bearing with a localized defect: impacts at `defect_hz` (a train of decaying rings of
// the structure's resonance at `resonance_hz`, decay time `decay_s`, amplitude `impact`),
// plus shaft rotation (`shaft_amplitude` at `shaft_hz`) and uniform noise in
// [-noise, noise) from a SplitMix64 stream (`seed`). Sample n at sample_rate_hz.
struct BearingSignal {
  double sample_rate_hz = 25600;
  double shaft_hz = 30;
  double shaft_amplitude = 0.5;
  double defect_hz = 107.4;
  double resonance_hz = 3000;
  double decay_s = 0.002;
  double impact = 1.0;
  double noise = 0.5;
  uint64_t seed = 1;
};
void bearing_samples(const BearingSignal& s, uint64_t first, std::size_t count, float* out);

// SplitMix64 output number i of the stream with state `seed`, as a double in [0, 1).
double splitmix_unit(uint64_t seed, uint64_t i);

}  // namespace edgeloop::dsp
