#include "operators/dsp/features.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numbers>
#include <string>
#include <vector>

#include "operators/dsp/synthetic.h"

namespace edgeloop::dsp {
namespace {

using Strs = std::vector<std::string>;

std::unique_ptr<FeatureExtractor> make(FeatureConfig c, std::size_t n) {
  auto fx = FeatureExtractor::create(c, n);
  EXPECT_TRUE(fx.ok()) << (fx.ok() ? "" : fx.error().message);
  return fx.ok() ? std::move(fx).value() : nullptr;
}

std::vector<double> run(FeatureExtractor& fx, const std::vector<float>& x, double fs = 25600) {
  std::vector<double> out(fx.count());
  fx.compute(x.data(), fs, out.data());
  return out;
}

TEST(Features, DefaultNamesAreTheV1Set) {
  auto names = FeatureExtractor::output_names(FeatureConfig{});
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, (Strs{"rms", "peak", "crest", "kurtosis", "skewness", "band_0", "band_1", "band_2", "band_3",
                          "band_4", "band_5", "band_6", "band_7"}));
}

// A sine with a whole number of periods in the window: RMS = A/√2, peak = A, crest = √2,
// kurtosis 1.5, skewness 0.
TEST(Features, SineMomentsAreExact) {
  const std::size_t n = 4096;
  std::vector<float> x(n);
  const double a = 3.0;
  for (std::size_t i = 0; i < n; ++i) x[i] = static_cast<float>(a * std::sin(2 * std::numbers::pi * 64.0 * static_cast<double>(i) / n));
  FeatureConfig c;
  c.features = {"rms", "peak", "crest", "kurtosis", "skewness", "mean", "std", "p2p"};
  auto fx = make(c, n);
  const auto v = run(*fx, x);
  EXPECT_NEAR(v[0], a / std::sqrt(2.0), 1e-6);
  EXPECT_EQ(v[1], 3.0);  // sin(π/2) is a sample: the peak is exact
  EXPECT_NEAR(v[2], std::sqrt(2.0), 1e-6);
  EXPECT_NEAR(v[3], 1.5, 1e-6);
  EXPECT_NEAR(v[4], 0.0, 1e-6);
  EXPECT_NEAR(v[5], 0.0, 1e-7);
  EXPECT_NEAR(v[6], a / std::sqrt(2.0), 1e-6);
  EXPECT_EQ(v[7], 6.0);
}

// A two-valued signal, 1000 three times out of four and 1004 once: mean 1001, m2 = 3,
// m3 = 6, m4 = 21 (all exact in double), so kurtosis 21/9 and skewness 6/3^1.5, despite the
// offset of 1000 (the moments are taken about a shift, not from raw power sums).
TEST(Features, KnownKurtosisAndSkewnessUnderALargeOffset) {
  std::vector<float> x(4096);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = i % 4 == 3 ? 1004.0f : 1000.0f;
  const Moments m = compute_moments(x.data(), x.size());
  EXPECT_EQ(m.mean, 1001.0);
  EXPECT_EQ(m.m2, 3.0);
  EXPECT_EQ(m.m3, 6.0);
  EXPECT_EQ(m.m4, 21.0);
  EXPECT_DOUBLE_EQ(m.kurtosis(), 21.0 / 9.0);
  EXPECT_DOUBLE_EQ(m.skewness(), 6.0 / std::pow(3.0, 1.5));
  EXPECT_EQ(m.peak(), 1004.0);
  EXPECT_DOUBLE_EQ(m.rms, std::sqrt((3 * 1000.0 * 1000.0 + 1004.0 * 1004.0) / 4));
  // A square wave: kurtosis 1, skewness 0, crest 1. Odd lengths take the scalar tail.
  std::vector<float> sq(1001);
  for (std::size_t i = 0; i < sq.size(); ++i) sq[i] = i < 500 ? 1.0f : -1.0f;
  sq[1000] = 0.0f;
  const Moments s = compute_moments(sq.data(), sq.size());
  EXPECT_NEAR(s.mean, 0.0, 1e-15);
  EXPECT_NEAR(s.m2, 1000.0 / 1001.0, 1e-13);
  EXPECT_NEAR(s.kurtosis(), 1001.0 / 1000.0, 1e-12);
  EXPECT_NEAR(s.skewness(), 0.0, 1e-12);
  EXPECT_EQ(s.min, -1.0f);
  EXPECT_EQ(s.max, 1.0f);
}

TEST(Features, AConstantWindowHasNoKurtosis) {
  std::vector<float> x(64, 2.5f);
  const Moments m = compute_moments(x.data(), x.size());
  EXPECT_EQ(m.m2, 0.0);
  EXPECT_TRUE(std::isnan(m.kurtosis()));
  EXPECT_TRUE(std::isnan(m.skewness()));
  EXPECT_EQ(m.rms, 2.5);
}

// A cosine on bin 700 of 4096 under a Hann window: X[700] = N/4, X[699] = X[701] = -N/8 and
// nothing else, so band 2 (bins 512..767) holds 3N²/32 and every other band ~0.
TEST(Features, AToneLandsInItsBandWithTheHannEnergy) {
  const std::size_t n = 4096;
  std::vector<float> x(n);
  for (std::size_t i = 0; i < n; ++i) x[i] = static_cast<float>(std::cos(2 * std::numbers::pi * 700.0 * static_cast<double>(i) / n));
  FeatureConfig c;
  c.features = {"bands", "dominant", "centroid"};
  auto fx = make(c, n);
  const auto v = run(*fx, x);
  ASSERT_EQ(v.size(), 10u);
  const double want = 3.0 * n * n / 32.0;
  EXPECT_NEAR(v[2] / want, 1.0, 1e-5);
  for (int b = 0; b < 8; ++b)
    if (b != 2) {
      EXPECT_LT(v[static_cast<std::size_t>(b)], want * 1e-9) << "band " << b;
    }
  EXPECT_DOUBLE_EQ(v[8], 700 * 25600.0 / n);  // 4375 Hz
  EXPECT_NEAR(v[9], 4375.0, 1e-3);
}

// Parseval with no window: the one-sided power spectrum (bands over bins 0 .. n/2-1, and the
// Nyquist bin) adds up to n Σ x².
TEST(Features, BandsKeepParsevalWithoutAWindow) {
  const std::size_t n = 2048;
  std::vector<float> x(n);
  double energy = 0;
  for (std::size_t i = 0; i < n; ++i) {
    x[i] = v1_sample(3, i);
    energy += static_cast<double>(x[i]) * x[i];
  }
  FeatureConfig c;
  c.features = {"bands"};
  c.bands = 16;
  c.window = WindowKind::kNone;
  auto fx = make(c, n);
  const auto v = run(*fx, x);
  double sum = 0;
  for (double b : v) sum += b;
  const float* p = fx->last_power();
  const double total = 2 * sum - p[0] + p[n / 2];
  EXPECT_NEAR(total / (static_cast<double>(n) * energy), 1.0, 2e-6);
}

TEST(Features, WindowsArePeriodic) {
  const AlignedFloats hann = make_window(WindowKind::kHann, 8);
  EXPECT_EQ(hann[0], 0.0f);
  EXPECT_FLOAT_EQ(hann[2], 0.5f);
  EXPECT_EQ(hann[4], 1.0f);
  EXPECT_FLOAT_EQ(hann[7], static_cast<float>(0.5 - 0.5 * std::cos(2 * std::numbers::pi * 7 / 8)));
  const AlignedFloats flat = make_window(WindowKind::kFlattop, 8);
  EXPECT_FLOAT_EQ(flat[0], static_cast<float>(0.21557895 - 0.41663158 + 0.277263158 - 0.083578947 + 0.006947368));
  EXPECT_FLOAT_EQ(flat[4], static_cast<float>(0.21557895 + 0.41663158 + 0.277263158 + 0.083578947 + 0.006947368));
  const AlignedFloats none = make_window(WindowKind::kNone, 8);
  for (float w : none) EXPECT_EQ(w, 1.0f);
  EXPECT_FALSE(parse_window_kind("hamming").ok());
}

TEST(Features, ConfigErrorsSayWhatIsWrong) {
  FeatureConfig c;
  c.features = {"rms", "loudness"};
  auto r = FeatureExtractor::output_names(c);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("unknown feature 'loudness'"), std::string::npos);
  c.features = {"rms", "rms"};
  EXPECT_NE(FeatureExtractor::output_names(c).error().message.find("twice"), std::string::npos);
  c.features = {"bands"};
  c.bands = 0;
  EXPECT_FALSE(FeatureExtractor::output_names(c).ok());
  c.bands = 8;
  auto odd = FeatureExtractor::create(c, 1000);
  ASSERT_FALSE(odd.ok());
  EXPECT_NE(odd.error().message.find("power-of-two"), std::string::npos);
  EXPECT_FALSE(FeatureExtractor::create(c, 16).ok());  // 8 bands need 32 samples
  // Time-domain features take any length.
  c.features = {"rms", "kurtosis"};
  auto any = FeatureExtractor::create(c, 1000);
  ASSERT_TRUE(any.ok());
  std::vector<float> x(1000, 1.0f);
  std::vector<double> out(2);
  (*any)->compute(x.data(), 1000, out.data());
  EXPECT_EQ(out[0], 1.0);
}

// The V1 reference: the first 3 windows of channel 0, computed by the peer in float64.
TEST(Features, AgreesWithTheV1Reference) {
  const std::string path = std::string(EDGELOOP_SOURCE_DIR) + "/../shared/bench/v1/reference.json";
  std::ifstream in(path);
  if (!in) GTEST_SKIP() << "no " << path;
  const nlohmann::json ref = nlohmann::json::parse(in, nullptr, false);
  ASSERT_FALSE(ref.is_discarded());
  ASSERT_EQ(ref["signal"]["seed"], 0);
  ASSERT_EQ(ref["windows"].size(), 3u);
  std::vector<float> x(4096 + 2 * 2048);
  v1_samples(0, 0, x.size(), x.data());
  auto fx = make(FeatureConfig{}, 4096);
  const Strs names = {"rms", "peak", "crest", "kurtosis", "skewness", "band0", "band1",
                      "band2", "band3", "band4", "band5", "band6", "band7"};
  double worst = 0;
  for (std::size_t w = 0; w < 3; ++w) {
    std::vector<double> v(13);
    fx->compute(x.data() + 2048 * w, kV1SampleRate, v.data());
    for (std::size_t k = 0; k < 13; ++k) {
      const double want = ref["windows"][w][names[k]].get<double>();
      const double rel = std::fabs(v[k] - want) / std::fabs(want);
      worst = std::max(worst, rel);
      EXPECT_LE(rel, 5e-5) << "window " << w << " " << names[k] << ": " << v[k] << " vs " << want;
    }
  }
  // The peak is a sample of the signal: exact, as long as the signal is.
  EXPECT_EQ(x[0], v1_sample(0, 0));
  RecordProperty("max_rel_diff", std::to_string(worst));
}

}  // namespace
}  // namespace edgeloop::dsp
