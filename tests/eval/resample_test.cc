// The anti-alias decimator (operators/dsp/resample.h) that brings the CWRU baseline from 48
// to 12 kHz: linear phase, unit gain in the passband, the stopband attenuated as designed,
// in-band tones kept in amplitude and phase, out-of-band tones removed before they alias.
#include "operators/dsp/resample.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <vector>

namespace edgeloop::dsp {
namespace {

std::vector<double> tone(double f_hz, double fs, std::size_t n, double phase = 0.3) {
  std::vector<double> x(n);
  for (std::size_t i = 0; i < n; ++i)
    x[i] = std::sin(2 * std::numbers::pi * f_hz * static_cast<double>(i) / fs + phase);
  return x;
}

TEST(Resample, LowpassIsSymmetricWithUnitDcGain) {
  auto h = design_lowpass(0.1, 0.05, 80);
  ASSERT_TRUE(h.ok()) << h.error().message;
  ASSERT_EQ(h->size() % 2, 1u);
  double sum = 0;
  for (std::size_t i = 0; i < h->size(); ++i) {
    EXPECT_EQ((*h)[i], (*h)[h->size() - 1 - i]) << i;
    sum += (*h)[i];
  }
  EXPECT_NEAR(sum, 1.0, 1e-12);
  // Kaiser's length estimate for 80 dB over a 0.05 transition: (80 - 7.95) / (2.285 * 2π * 0.05) = 100.4.
  EXPECT_EQ(h->size(), 103u);
}

TEST(Resample, DecimatorPassbandAndStopband) {
  auto d = Decimator::create(4);  // 48 kHz -> 12 kHz: passband to 4.8 kHz, stopband from 6 kHz
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->factor(), 4);
  EXPECT_EQ(d->delay(), (d->taps().size() - 1) / 2);
  double pass_err = 0, stop_max = 0;
  for (int i = 0; i <= 1000; ++i) {
    const double f = 0.1 * i / 1000;  // 0 .. 4.8 kHz at 48 kHz
    pass_err = std::max(pass_err, std::fabs(d->gain_at(f) - 1));
  }
  for (int i = 0; i <= 5000; ++i) {
    const double f = 0.125 + 0.375 * i / 5000;  // 6 .. 24 kHz
    stop_max = std::max(stop_max, d->gain_at(f));
  }
  EXPECT_LT(pass_err, 1e-4);                        // ±0.001 dB
  EXPECT_LT(stop_max, std::pow(10.0, -88.0 / 20));  // at least 88 dB down (designed for 90)
  // The -6 dB point sits mid-transition: 5.4 kHz.
  EXPECT_NEAR(d->gain_at(5400.0 / 48000), 0.5, 1e-3);
}

TEST(Resample, InBandTonesKeepAmplitudeAndPhase) {
  auto d = Decimator::create(4);
  ASSERT_TRUE(d.ok());
  const std::size_t n = 48000;
  for (double f : {30.0, 1000.0, 3100.0, 4500.0}) {
    SCOPED_TRACE(f);
    const auto x = tone(f, 48000, n);
    const auto y = d->decimate(x);
    ASSERT_EQ(y.size(), n / 4);
    // Output m sits at input sample 4m (the delay is compensated); away from the ends.
    const std::size_t edge = d->delay() / 4 + 1;
    double err = 0;
    for (std::size_t m = edge; m + edge < y.size(); ++m) err = std::max(err, std::fabs(y[m] - x[4 * m]));
    EXPECT_LT(err, 2e-4);
  }
}

TEST(Resample, OutOfBandTonesDoNotAlias) {
  auto d = Decimator::create(4);
  ASSERT_TRUE(d.ok());
  // 7 kHz would fold to 5 kHz, 10 kHz to 2 kHz, 23 kHz to 1 kHz at 12 kHz.
  for (double f : {6500.0, 7000.0, 10000.0, 23000.0}) {
    SCOPED_TRACE(f);
    const auto y = d->decimate(tone(f, 48000, 24000));
    const std::size_t edge = d->delay() / 4 + 1;
    double peak = 0;
    for (std::size_t m = edge; m + edge < y.size(); ++m) peak = std::max(peak, std::fabs(y[m]));
    EXPECT_LT(peak, 5e-5);
  }
}

TEST(Resample, OutputLengthAndEdges) {
  auto d = Decimator::create(4);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->decimate(std::vector<double>(170757, 1.0)).size(), 42690u);  // ceil(n / 4)
  EXPECT_EQ(d->decimate(std::vector<double>(3, 1.0)).size(), 1u);
  EXPECT_TRUE(d->decimate(std::vector<double>{}).empty());
  // A constant comes out as itself wherever the whole filter overlaps the input.
  const auto y = d->decimate(std::vector<double>(4000, 2.5));
  for (std::size_t m = d->delay() / 4 + 1; m + d->delay() / 4 + 1 < y.size(); ++m) EXPECT_NEAR(y[m], 2.5, 1e-12);
}

TEST(Resample, RejectsImpossibleDesigns) {
  EXPECT_FALSE(Decimator::create(1).ok());
  EXPECT_FALSE(Decimator::create(65).ok());
  EXPECT_FALSE(Decimator::create(4, 0.3).ok());
  EXPECT_FALSE(Decimator::create(4, 0.8, 10).ok());
  EXPECT_FALSE(design_lowpass(0.5, 0.1, 60).ok());
  EXPECT_FALSE(design_lowpass(0.1, 0, 60).ok());
  EXPECT_FALSE(design_lowpass(0.1, 0.3, 60).ok());
  auto tiny = design_lowpass(0.1, 1e-7, 150);
  ASSERT_FALSE(tiny.ok());
  EXPECT_EQ(tiny.error().code, Errc::kTooLarge);
}

}  // namespace
}  // namespace edgeloop::dsp
