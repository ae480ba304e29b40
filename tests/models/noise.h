// Deterministic test signals: Gaussian noise from a fixed-seed mt19937_64 through Box-Muller
// (std::normal_distribution is not the same on every standard library).
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace edgeloop::testing {

class Noise {
 public:
  explicit Noise(uint64_t seed) : rng_(seed) {}
  double uniform() { return (static_cast<double>(rng_() >> 11) + 0.5) * (1.0 / 9007199254740992.0); }
  double gauss() {
    const double u = uniform(), v = uniform();
    return std::sqrt(-2.0 * std::log(u)) * std::cos(6.283185307179586 * v);
  }

 private:
  std::mt19937_64 rng_;
};

inline constexpr int64_t kMinute = 60'000'000'000;

}  // namespace edgeloop::testing
