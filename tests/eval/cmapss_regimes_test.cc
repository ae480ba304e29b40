// Operating regimes of C-MAPSS files: the sidecar's healthy baseline, and the mapping of every
// regime's rows onto it (exact on engines whose regimes differ by a known affine change).
#include "eval/cmapss_regimes.h"

#include <gtest/gtest.h>

#include <cmath>

namespace edgeloop::eval {
namespace {

constexpr int kSensor = 6;  // s2

// One engine in one regime: cycles 1..n, sensor s2 = a * u(cycle) + b, u = 10 + cycle % 5.
CmapssEngine engine(int unit, double altitude, double mach, double throttle, double a, double b, int n = 40) {
  CmapssEngine e{unit, {}};
  for (int cycle = 1; cycle <= n; ++cycle) {
    std::vector<double> row(kCmapssColumns, 0.0);
    row[0] = unit;
    row[1] = cycle;
    row[2] = altitude + (cycle % 2 ? 0.004 : -0.004);  // the settings' own noise
    row[3] = mach + (cycle % 2 ? 0.0003 : -0.0003);
    row[4] = throttle;
    row[kSensor] = a * (10 + cycle % 5) + b;
    row[7] = 1000 + cycle;  // not in the baseline: never touched
    e.values.insert(e.values.end(), row.begin(), row.end());
  }
  return e;
}

// u over cycles 1..30: values 10..14, six of each: mean 12, population std sqrt(2).
CmapssHealthyBaseline baseline() {
  return CmapssHealthyBaseline{30, {0, 0, 100}, {kSensor}, {12.0}, {std::sqrt(2.0)}};
}

TEST(CmapssRegimes, RegimeRoundsAwayTheSettingsNoise) {
  const double fd002_a[5] = {0, 0, 42.0049, 0.8405, 100};
  const double fd002_b[5] = {0, 0, 41.9981, 0.8396, 100};
  const double fd002_c[5] = {0, 0, 35.0012, 0.8400, 100};
  EXPECT_EQ(cmapss_regime_of(fd002_a), cmapss_regime_of(fd002_b));
  EXPECT_FALSE(cmapss_regime_of(fd002_a) == cmapss_regime_of(fd002_c));
  const double fd001[5] = {0, 0, -0.0087, 0.0006, 100};
  EXPECT_EQ(cmapss_regime_of(fd001), (CmapssRegime{0, 0, 100}));
}

TEST(CmapssRegimes, TheTrainingRegimeAloneIsLeftAsRead) {
  std::vector<CmapssEngine> engines = {engine(1, 0, 0, 100, 1, 0), engine(2, 0, 0, 100, 1, 0, 35)};
  const auto before = engines;
  const CmapssRegimeMapping m = map_cmapss_regimes(engines, baseline());
  EXPECT_EQ(m.regimes, 1U);
  EXPECT_FALSE(m.applied);
  EXPECT_EQ(engines[0].values, before[0].values);
  EXPECT_EQ(engines[1].values, before[1].values);
}

TEST(CmapssRegimes, EveryRegimeIsMappedOntoTheHealthyBaseline) {
  // Three regimes, the sensor scaled and shifted differently in each; one engine flies the
  // training regime. After the mapping every engine reads u exactly, the other column as read.
  std::vector<CmapssEngine> engines = {engine(1, 0, 0, 100, 1, 0), engine(2, 20, 0.70, 100, 3, 50),
                                       engine(3, 25, 0.62, 60, 0.5, 900)};
  const CmapssRegimeMapping m = map_cmapss_regimes(engines, baseline());
  EXPECT_EQ(m.regimes, 3U);
  EXPECT_TRUE(m.applied);
  EXPECT_EQ(m.text, "3 operating regimes: each mapped onto the training regime's healthy level (its rows of cycles <= 30)");
  for (const CmapssEngine& e : engines) {
    for (std::size_t r = 0; r < e.rows(); ++r) {
      const int cycle = static_cast<int>(e.at(r, 1));
      EXPECT_NEAR(e.at(r, kSensor), 10 + cycle % 5, 1e-9) << "unit " << e.unit << " cycle " << cycle;
      EXPECT_EQ(e.at(r, 7), 1000 + cycle);
    }
  }
}

TEST(CmapssRegimes, AConstantColumnIsShiftedAndAShortRegimeLearnsFromAllItsRows) {
  // Regime B's sensor is constant (shifted onto the baseline's mean); regime C has only 5 rows,
  // none healthy by cycle: it learns from all of them.
  std::vector<CmapssEngine> engines = {engine(1, 20, 0.70, 100, 0, 77), engine(2, 25, 0.62, 60, 2, 1, 5)};
  for (std::size_t r = 0; r < engines[1].rows(); ++r) engines[1].values[r * kCmapssColumns + 1] += 100;  // cycles 101..105
  const CmapssRegimeMapping m = map_cmapss_regimes(engines, baseline());
  EXPECT_EQ(m.regimes, 2U);
  EXPECT_NE(m.text.find("regimes with fewer than 10 such rows: all their rows"), std::string::npos) << m.text;
  for (std::size_t r = 0; r < engines[0].rows(); ++r) EXPECT_NEAR(engines[0].at(r, kSensor), 12.0, 1e-9);
  // Cycles 101..105: u = 11, 12, 13, 14, 10: mean 12, std sqrt(2), the baseline's own.
  for (std::size_t r = 0; r < engines[1].rows(); ++r)
    EXPECT_NEAR(engines[1].at(r, kSensor), 10 + static_cast<int>(engines[1].at(r, 1)) % 5, 1e-9);
}

TEST(CmapssRegimes, SidecarBaselineParsesAndRejects) {
  auto none = parse_cmapss_healthy_baseline(R"({"kind":"sequence"})", "m.json");
  ASSERT_TRUE(none.ok()) << none.error().message;
  EXPECT_FALSE(none->has_value());
  auto ok = parse_cmapss_healthy_baseline(
      R"({"healthy_baseline":{"cycles":25,"settings":[0,0,100],"columns":[6,7],"mean":[642.1,1580.2],"std":[0.4,5.1]}})",
      "m.json");
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  ASSERT_TRUE(ok->has_value());
  EXPECT_EQ((*ok)->cycles, 25);
  EXPECT_EQ((*ok)->columns, (std::vector<int>{6, 7}));
  EXPECT_EQ((*ok)->std, (std::vector<double>{0.4, 5.1}));
  auto short_mean = parse_cmapss_healthy_baseline(
      R"({"healthy_baseline":{"settings":[0,0,100],"columns":[6,7],"mean":[642.1],"std":[0.4,5.1]}})", "m.json");
  ASSERT_FALSE(short_mean.ok());
  EXPECT_EQ(short_mean.error().message, "m.json: healthy_baseline: columns, mean and std need one value per column");
  auto setting_column = parse_cmapss_healthy_baseline(
      R"({"healthy_baseline":{"settings":[0,0,100],"columns":[2],"mean":[0],"std":[1]}})", "m.json");
  ASSERT_FALSE(setting_column.ok());
  EXPECT_NE(setting_column.error().message.find("is not a sensor column (5..25)"), std::string::npos);
}

}  // namespace
}  // namespace edgeloop::eval
