#include "operators/dsp/fft.h"

#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <numbers>
#include <random>
#include <vector>

namespace edgeloop::dsp {
namespace {

using cd = std::complex<double>;

// The DFT in double, bins 0 .. bins-1 (all by default), from a table of the n roots of unity.
std::vector<cd> naive_dft(const std::vector<cd>& x, std::size_t bins = 0) {
  const std::size_t n = x.size();
  if (bins == 0) bins = n;
  std::vector<cd> w(n);
  for (std::size_t j = 0; j < n; ++j)
    w[j] = std::polar(1.0, -2.0 * std::numbers::pi * static_cast<double>(j) / static_cast<double>(n));
  std::vector<cd> out(bins);
  for (std::size_t k = 0; k < bins; ++k) {
    cd s = 0;
    std::size_t idx = 0;  // k·j mod n
    for (std::size_t j = 0; j < n; ++j) {
      s += x[j] * w[idx];
      idx += k;
      if (idx >= n) idx -= n;
    }
    out[k] = s;
  }
  return out;
}

// Every size from 1 to 8192 (both the plain and the four-step plans, radix 4 and 2 ends),
// against a double-precision DFT: float FFT error grows like log n, about 1e-7 here.
TEST(ComplexFft, MatchesTheDftAtEverySize) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-1, 1);
  for (std::size_t n = 1; n <= 8192; n *= 2) {
    auto fft = ComplexFft::create(n);
    ASSERT_TRUE(fft.ok());
    std::vector<float> re(n), im(n);
    std::vector<cd> x(n);
    for (std::size_t i = 0; i < n; ++i) {
      re[i] = u(rng);
      im[i] = u(rng);
      x[i] = cd(re[i], im[i]);
    }
    const std::vector<cd> want = naive_dft(x);
    (*fft)->transform(re.data(), im.data());
    double err = 0, scale = 0;
    for (std::size_t k = 0; k < n; ++k) {
      err = std::max(err, std::abs(want[k] - cd(re[k], im[k])));
      scale = std::max(scale, std::abs(want[k]));
    }
    EXPECT_LT(err, 4e-7 * scale) << "n = " << n;
    // The inverse brings the input back.
    (*fft)->transform(re.data(), im.data(), /*inverse=*/true);
    for (std::size_t i = 0; i < n; ++i) {
      ASSERT_NEAR(re[i], x[i].real(), 2e-6) << "n = " << n << ", i = " << i;
      ASSERT_NEAR(im[i], x[i].imag(), 2e-6) << "n = " << n << ", i = " << i;
    }
  }
}

TEST(ComplexFft, AUnitImpulseGivesAFlatSpectrumAndAToneOneBin) {
  auto fft = ComplexFft::create(1024);
  ASSERT_TRUE(fft.ok());
  std::vector<float> re(1024, 0.0f), im(1024, 0.0f);
  re[0] = 1.0f;
  (*fft)->transform(re.data(), im.data());
  for (std::size_t k = 0; k < 1024; ++k) {
    ASSERT_EQ(re[k], 1.0f);
    ASSERT_EQ(im[k], 0.0f);
  }
  // e^(2πi 5 j / 1024) puts all of its energy, 1024, in bin 5.
  for (std::size_t j = 0; j < 1024; ++j) {
    const double a = 2 * std::numbers::pi * 5 * static_cast<double>(j) / 1024;
    re[j] = static_cast<float>(std::cos(a));
    im[j] = static_cast<float>(std::sin(a));
  }
  (*fft)->transform(re.data(), im.data());
  EXPECT_NEAR(re[5], 1024.0f, 1e-3);
  EXPECT_NEAR(im[5], 0.0f, 1e-3);
  for (std::size_t k = 0; k < 1024; ++k)
    if (k != 5) {
      ASSERT_LT(std::hypot(re[k], im[k]), 1e-3) << k;
    }
}

TEST(RealFft, MatchesTheDftAndItsPowerAtEverySize) {
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> u(-1, 1);
  for (std::size_t n = 4; n <= 16384; n *= 2) {
    auto fft = RealFft::create(n);
    ASSERT_TRUE(fft.ok());
    EXPECT_EQ((*fft)->bins(), n / 2 + 1);
    std::vector<float> x(n), w(n), re(n / 2 + 1), im(n / 2 + 1), p(n / 2 + 1);
    std::vector<cd> xw(n);
    for (std::size_t i = 0; i < n; ++i) {
      x[i] = u(rng);
      w[i] = u(rng);
      xw[i] = static_cast<double>(x[i] * w[i]);
    }
    const std::vector<cd> want = naive_dft(xw, n / 2 + 1);
    (*fft)->forward(x.data(), w.data(), re.data(), im.data());
    (*fft)->power(x.data(), w.data(), p.data());
    double scale = 0;
    for (std::size_t k = 0; k <= n / 2; ++k) scale = std::max(scale, std::abs(want[k]));
    for (std::size_t k = 0; k <= n / 2; ++k) {
      ASSERT_LT(std::abs(want[k] - cd(re[k], im[k])), 4e-7 * scale) << "n = " << n << ", k = " << k;
      ASSERT_NEAR(p[k], std::norm(want[k]), 1e-6 * scale * scale) << "n = " << n << ", k = " << k;
    }
    EXPECT_EQ(im[0], 0.0f);
    EXPECT_EQ(im[n / 2], 0.0f);
  }
}

// Parseval: Σ over the full spectrum of |X[k]|² = n Σ x², the one-sided form counting the
// bins other than 0 and n/2 twice.
TEST(RealFft, KeepsParseval) {
  const std::size_t n = 4096;
  auto fft = RealFft::create(n);
  ASSERT_TRUE(fft.ok());
  std::mt19937 rng(3);
  std::normal_distribution<float> g(0.5f, 2.0f);
  std::vector<float> x(n), p(n / 2 + 1);
  double energy = 0;
  for (auto& v : x) {
    v = g(rng);
    energy += static_cast<double>(v) * v;
  }
  (*fft)->power(x.data(), nullptr, p.data());
  double spectral = static_cast<double>(p[0]) + p[n / 2];
  for (std::size_t k = 1; k < n / 2; ++k) spectral += 2.0 * p[k];
  EXPECT_NEAR(spectral / (static_cast<double>(n) * energy), 1.0, 1e-6);
}

TEST(Fft, RejectsSizesThatAreNotPowersOfTwo) {
  EXPECT_FALSE(ComplexFft::create(0).ok());
  EXPECT_FALSE(ComplexFft::create(3000).ok());
  EXPECT_FALSE(ComplexFft::create(ComplexFft::kMaxSize * 2).ok());
  auto r = RealFft::create(1000);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
  EXPECT_NE(r.error().message.find("1000"), std::string::npos);
  EXPECT_FALSE(RealFft::create(2).ok());
  EXPECT_TRUE(RealFft::create(4).ok());
}

}  // namespace
}  // namespace edgeloop::dsp
