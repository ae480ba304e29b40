#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "eval/skab.h"

namespace edgeloop::eval {
namespace {

TEST(SkabMetrics, LeaderboardFormulas) {
  SkabCounts c;
  c.tp = 6;
  c.fp = 2;
  c.fn = 3;
  c.tn = 9;
  const SkabMetrics m = skab_metrics(c);
  EXPECT_DOUBLE_EQ(m.f1, 6.0 / 8.5);
  EXPECT_DOUBLE_EQ(m.f1_rounded, 0.71);
  EXPECT_DOUBLE_EQ(m.far, 200.0 / 11.0);
  EXPECT_DOUBLE_EQ(m.mar, 100.0 / 3.0);
}

TEST(SkabMetrics, NullAndPerfectDetectors) {
  const std::vector<uint8_t> labels = {0, 0, 1, 1, 0};
  const SkabMetrics null = skab_metrics(skab_count({0, 0, 0, 0, 0}, labels, 0));
  EXPECT_DOUBLE_EQ(null.f1, 0.0);
  EXPECT_DOUBLE_EQ(null.far, 0.0);
  EXPECT_DOUBLE_EQ(null.mar, 100.0);
  const SkabMetrics perfect = skab_metrics(skab_count(labels, labels, 0));
  EXPECT_DOUBLE_EQ(perfect.f1, 1.0);
  EXPECT_DOUBLE_EQ(perfect.far, 0.0);
  EXPECT_DOUBLE_EQ(perfect.mar, 0.0);
}

TEST(SkabMetrics, TrainingRowsAreNotCounted) {
  std::vector<uint8_t> labels(410, 0), pred(410, 1);
  labels[405] = 1;
  const SkabCounts c = skab_count(pred, labels);
  EXPECT_EQ(c.tp, 1u);
  EXPECT_EQ(c.fp, 9u);
  EXPECT_EQ(c.fn + c.tn, 0u);
}

TEST(SkabLoad, ParsesAnExperimentAndSkipsAnomalyFree) {
  const auto dir = std::filesystem::temp_directory_path() / "edgeloop_skab_test";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir / "valve1");
  std::filesystem::create_directories(dir / "anomaly-free");
  std::ofstream(dir / "valve1" / "10.csv") << "datetime;A;B;anomaly;changepoint\n"
                                              "2020-03-09 10:14:33;1.5;2.0;0.0;0.0\n"
                                              "2020-03-09 10:14:34;1.25;-3;1.0;1.0\n";
  std::ofstream(dir / "valve1" / "2.csv") << "datetime;A;B;anomaly;changepoint\n2020-03-09 10:14:33;1;2;0.0;0.0\n";
  std::ofstream(dir / "anomaly-free" / "anomaly-free.csv") << "datetime;A;B\n2020-03-09 10:14:33;1;2\n";
  auto files = load_skab_folder(dir.string());
  ASSERT_TRUE(files.ok()) << files.error().message;
  ASSERT_EQ(files->size(), 2u);
  EXPECT_EQ((*files)[0].name, "valve1/2.csv");  // natural order
  const SkabFile& f = (*files)[1];
  EXPECT_EQ(f.columns, (std::vector<std::string>{"A", "B"}));
  ASSERT_EQ(f.rows.size(), 2u);
  EXPECT_DOUBLE_EQ(f.rows[1][0], 1.25);
  EXPECT_DOUBLE_EQ(f.rows[1][1], -3.0);
  EXPECT_EQ(f.anomaly, (std::vector<uint8_t>{0, 1}));
  EXPECT_EQ(f.changepoint, (std::vector<uint8_t>{0, 1}));
  EXPECT_EQ(f.ts_ns[1] - f.ts_ns[0], 1'000'000'000);
  std::ofstream(dir / "valve1" / "3.csv") << "datetime;A;B;anomaly;changepoint\n2020-03-09 10:14:33;x;2;0.0;0.0\n";
  auto bad = load_skab_folder(dir.string());
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("3.csv:2"), std::string::npos) << bad.error().message;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace edgeloop::eval
