// C-MAPSS RUL evaluation: file parsing, the scores with hand-computed values, the windowing
// the sidecars describe, and the committed models on the first 10 FD001 test engines against
// the figures tools/train/cmapss_rul.py computed for the same engines.
#include "eval/cmapss.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <utility>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/registry.h"
#include "eval/evaluation.h"
#include "eval/text_io.h"

namespace edgeloop::eval {
namespace {

const std::string kRoot = EDGELOOP_SOURCE_DIR;
const std::string kData = kRoot + "/../shared/data/cmapss";

// A row: unit, cycle, three settings, then s1..s21 = base + k (k = 1..21).
std::string row(int unit, int cycle, double base) {
  std::string s = std::to_string(unit) + " " + std::to_string(cycle) + " 0.0023 -0.0003 100.0";
  for (int k = 1; k <= 21; ++k) s += " " + std::to_string(base + k);
  return s + "  \n";  // the files end each line with two spaces
}

TEST(CmapssParse, EnginesInFileOrderWithTheirRows) {
  const std::string text = row(1, 1, 0) + row(1, 2, 10) + row(2, 1, 100) + "\n";
  auto engines = parse_cmapss(text, "t.txt");
  ASSERT_TRUE(engines.ok()) << engines.error().message;
  ASSERT_EQ(engines->size(), 2u);
  EXPECT_EQ((*engines)[0].unit, 1);
  EXPECT_EQ((*engines)[0].rows(), 2u);
  EXPECT_EQ((*engines)[1].unit, 2);
  EXPECT_EQ((*engines)[1].rows(), 1u);
  EXPECT_DOUBLE_EQ((*engines)[0].at(1, 1), 2.0);     // cycle
  EXPECT_DOUBLE_EQ((*engines)[0].at(0, 2), 0.0023);  // setting1
  EXPECT_DOUBLE_EQ((*engines)[0].at(1, 5), 11.0);    // s1 of row 2
  EXPECT_DOUBLE_EQ((*engines)[1].at(0, 25), 121.0);  // s21
}

TEST(CmapssParse, RejectsMalformedFiles) {
  auto short_row = parse_cmapss("1 1 0.1 0.2\n", "t.txt");
  ASSERT_FALSE(short_row.ok());
  EXPECT_EQ(short_row.error().message, "t.txt:1: expected 26 numbers, got 4");
  auto split_unit = parse_cmapss(row(1, 1, 0) + row(2, 1, 0) + row(1, 2, 0), "t.txt");
  ASSERT_FALSE(split_unit.ok());
  EXPECT_EQ(split_unit.error().message, "t.txt:3: the rows of unit 1 are not contiguous");
  auto backwards = parse_cmapss(row(1, 2, 0) + row(1, 2, 0), "t.txt");
  ASSERT_FALSE(backwards.ok());
  EXPECT_EQ(backwards.error().message, "t.txt:2: the cycles of unit 1 do not increase");
  std::string bad = row(1, 1, 0);
  bad.replace(bad.find("0.0023"), 6, "abc");
  EXPECT_FALSE(parse_cmapss(bad, "t.txt").ok());
  EXPECT_FALSE(parse_cmapss("\n\n", "t.txt").ok());
}

TEST(CmapssParse, RulFile) {
  auto rul = parse_cmapss_rul("112\n98\r\n69  \n", "r.txt");
  ASSERT_TRUE(rul.ok()) << rul.error().message;
  EXPECT_EQ(*rul, (std::vector<double>{112, 98, 69}));
  EXPECT_FALSE(parse_cmapss_rul("1 2\n", "r.txt").ok());
  EXPECT_FALSE(parse_cmapss_rul("-3\n", "r.txt").ok());
}

TEST(CmapssScore, RmseAndPhm08ByHand) {
  // d = -2 (early), 0, +5 (late).
  const std::vector<double> pred{10, 20, 35}, truth{12, 20, 30};
  EXPECT_NEAR(rul_rmse(pred, truth), std::sqrt(29.0 / 3.0), 1e-12);  // 3.1091263510296048
  // exp(2/13) - 1 + 0 + exp(5/10) - 1
  EXPECT_NEAR(phm08_score(pred, truth), 0.8150327111460582, 1e-12);
  // Late costs more than early by the same amount.
  EXPECT_GT(phm08_score(std::vector<double>{10}, std::vector<double>{0}),
            phm08_score(std::vector<double>{0}, std::vector<double>{10}));
}

TEST(CmapssSidecar, ParsesAndRejects) {
  auto seq = parse_cmapss_sidecar(R"({"kind":"sequence","window":30,"columns":[6,7],"scaling_in_graph":true})", "s");
  ASSERT_TRUE(seq.ok()) << seq.error().message;
  EXPECT_EQ(seq->kind, CmapssModelSpec::Kind::kSequence);
  EXPECT_EQ(seq->window, 30);
  EXPECT_EQ(seq->columns, (std::vector<int>{6, 7}));
  EXPECT_EQ(cmapss_input_size(*seq), 60u);
  auto feat = parse_cmapss_sidecar(
      R"({"kind":"window_features","window":5,"columns":[6],"features":["last","mean","slope"]})", "s");
  ASSERT_TRUE(feat.ok()) << feat.error().message;
  EXPECT_EQ(cmapss_input_size(*feat), 3u);
  EXPECT_FALSE(parse_cmapss_sidecar("{", "s").ok());
  EXPECT_FALSE(parse_cmapss_sidecar(R"({"kind":"tree","window":30,"columns":[6]})", "s").ok());
  EXPECT_FALSE(parse_cmapss_sidecar(R"({"kind":"sequence","window":30,"columns":[0]})", "s").ok());  // the unit
  EXPECT_FALSE(parse_cmapss_sidecar(R"({"kind":"sequence","window":30,"columns":[26]})", "s").ok());
  auto age = parse_cmapss_sidecar(R"({"kind":"sequence","window":30,"columns":[6,1],"scaling_in_graph":true})", "s");
  ASSERT_TRUE(age.ok()) << age.error().message;
  EXPECT_EQ(age->columns, (std::vector<int>{6, 1}));
  EXPECT_FALSE(
      parse_cmapss_sidecar(R"({"kind":"sequence","window":30,"columns":[6],"scaling_in_graph":false})", "s").ok());
  EXPECT_EQ(cmapss_sidecar_path("models/a.onnx"), "models/a.json");
  EXPECT_EQ(cmapss_sidecar_path("models/no_such_model.json"), "models/no_such_model.sidecar.json");
}

TEST(CmapssWindow, PadsShortEnginesWithTheFirstRowAndScales) {
  // s2 (column 6) = 2, 12, 22 over three rows; window 5 pads with the first row twice.
  auto engines = parse_cmapss(row(1, 1, 0) + row(1, 2, 10) + row(1, 3, 20), "t.txt");
  ASSERT_TRUE(engines.ok());
  CmapssModelSpec spec;
  spec.window = 5;
  spec.columns = {6};
  EXPECT_EQ(cmapss_model_input((*engines)[0], 3, spec), (std::vector<float>{2, 2, 2, 12, 22}));
  spec.scale_in_graph = false;
  spec.scale_min = {2};
  spec.scale_max = {22};
  EXPECT_EQ(cmapss_model_input((*engines)[0], 3, spec), (std::vector<float>{0, 0, 0, 0.5f, 1}));
  // A window ending before the last row.
  spec.scale_in_graph = true;
  spec.window = 2;
  EXPECT_EQ(cmapss_model_input((*engines)[0], 2, spec), (std::vector<float>{2, 12}));
  // The cycle number as a channel (the age-aware sequence model): padded like the sensors.
  spec.window = 4;
  spec.columns = {6, 1};
  EXPECT_EQ(cmapss_model_input((*engines)[0], 3, spec), (std::vector<float>{2, 1, 2, 1, 12, 2, 22, 3}));
}

CmapssModelSpec window_features_spec(int window, std::vector<int> columns) {
  CmapssModelSpec spec;
  spec.kind = CmapssModelSpec::Kind::kWindowFeatures;
  spec.window = window;
  spec.columns = std::move(columns);
  return spec;
}

TEST(CmapssWindow, LastMeanSlopeFeatures) {
  // Column 6 rises by 10 per cycle, column 7 = 3 + 10 * cycle as well: slope 10, mean of the
  // window of 3 the middle value.
  std::string text;
  for (int c = 1; c <= 4; ++c) text += row(7, c, 10.0 * c);
  auto engines = parse_cmapss(text, "t.txt");
  ASSERT_TRUE(engines.ok());
  CmapssModelSpec spec = window_features_spec(3, {6, 7});
  // rows 2..4: s2 = 22, 32, 42; s3 = 23, 33, 43.
  EXPECT_EQ(cmapss_model_input((*engines)[0], 4, spec), (std::vector<float>{42, 43, 32, 33, 10, 10}));
  // Padded: rows 1,1,2 of s2 = 12, 12, 22: mean 46/3, slope (-1*12 + 0 + 1*22) / 2 = 5.
  const std::vector<float> padded = cmapss_model_input((*engines)[0], 2, spec);
  EXPECT_FLOAT_EQ(padded[0], 22);
  EXPECT_FLOAT_EQ(padded[2], 46.0f / 3.0f);
  EXPECT_FLOAT_EQ(padded[4], 5);
}

TEST(CmapssWindow, FeatureTokens) {
  using Stat = CmapssFeature::Stat;
  auto mean10 = parse_cmapss_feature("mean@10", 50);
  ASSERT_TRUE(mean10.ok()) << mean10.error().message;
  EXPECT_EQ(mean10->stat, Stat::kMean);
  EXPECT_EQ(mean10->window, 10);
  auto ewm = parse_cmapss_feature("ewm@0.1", 50);
  ASSERT_TRUE(ewm.ok()) << ewm.error().message;
  EXPECT_EQ(ewm->stat, Stat::kEwm);
  EXPECT_DOUBLE_EQ(ewm->alpha, 0.1);
  auto slope = parse_cmapss_feature("slope", 50);
  ASSERT_TRUE(slope.ok());
  EXPECT_EQ(slope->stat, Stat::kSlope);
  EXPECT_EQ(slope->window, 0);  // the whole window
  EXPECT_EQ(parse_cmapss_feature("cycle", 50)->stat, Stat::kCycle);
  for (const char* bad :
       {"median", "mean@51", "mean@1", "mean@2.5", "mean@", "last@10", "ewm", "ewm@0", "ewm@1.5", "cycle@3", "std@x"}) {
    EXPECT_FALSE(parse_cmapss_feature(bad, 50).ok()) << bad;
  }
  EXPECT_EQ(parse_cmapss_feature("median", 50).error().message,
            "feature 'median' is not one of last, mean, slope, std, min, max (each optionally @N), ewm@ALPHA, cycle");
  // In a sidecar: per-column blocks plus one cycle value; the old layout stays the default.
  auto spec = parse_cmapss_sidecar(
      R"({"kind":"window_features","window":30,"columns":[6,7],"features":["last","mean@10","ewm@0.2","cycle"]})", "s");
  ASSERT_TRUE(spec.ok()) << spec.error().message;
  EXPECT_EQ(cmapss_input_size(*spec), 7u);
  auto old = parse_cmapss_sidecar(R"({"kind":"window_features","window":30,"columns":[6,7]})", "s");
  ASSERT_TRUE(old.ok());
  EXPECT_EQ(cmapss_input_size(*old), 6u);
  auto wrong =
      parse_cmapss_sidecar(R"({"kind":"window_features","window":30,"columns":[6],"features":["mean@40"]})", "s");
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.error().message.find("mean@40"), std::string::npos) << wrong.error().message;
  EXPECT_FALSE(parse_cmapss_sidecar(R"({"kind":"window_features","window":30,"columns":[6],"features":[]})", "s").ok());
  EXPECT_FALSE(
      parse_cmapss_sidecar(R"({"kind":"window_features","window":30,"columns":[6],"features":[3]})", "s").ok());
}

TEST(CmapssWindow, StdMinMaxSubWindowEwmAndCycle) {
  // s2 (column 6) = 12, 22, 32, 42 over cycles 1..4.
  std::string text;
  for (int c = 1; c <= 4; ++c) text += row(3, c, 10.0 * c);
  auto engines = parse_cmapss(text, "t.txt");
  ASSERT_TRUE(engines.ok());
  CmapssModelSpec spec = window_features_spec(3, {6});
  spec.features.clear();
  for (const char* token : {"std", "min@2", "max", "mean@2", "slope@2", "ewm@0.5", "cycle"})
    spec.features.push_back(*parse_cmapss_feature(token, spec.window));
  ASSERT_EQ(cmapss_input_size(spec), 7u);
  // Window 22, 32, 42: population std sqrt(200/3); the last two 32, 42; ewm over the whole
  // history 12 -> 17 -> 24.5 -> 33.25; the cycle column of row 4.
  const std::vector<float> full = cmapss_model_input((*engines)[0], 4, spec);
  EXPECT_FLOAT_EQ(full[0], static_cast<float>(std::sqrt(200.0 / 3.0)));
  EXPECT_EQ((std::vector<float>(full.begin() + 1, full.end())), (std::vector<float>{32, 42, 37, 10, 33.25f, 4}));
  // Padded: window 12, 12, 22 (mean 46/3, deviations -10/3, -10/3, 20/3); ewm 12 -> 17.
  const std::vector<float> padded = cmapss_model_input((*engines)[0], 2, spec);
  EXPECT_FLOAT_EQ(padded[0], static_cast<float>(std::sqrt(200.0 / 9.0)));
  EXPECT_EQ((std::vector<float>(padded.begin() + 1, padded.end())), (std::vector<float>{12, 22, 17, 10, 17, 2}));
}

// The committed models against tools/train/cmapss_rul.py's figures for test engines 1..10,
// which it writes into each model's sidecar ("figures.first10_rmse", "first10_pred"): the C++
// windowing and inference must reproduce the training script's predictions.
class CmapssCommitted : public ::testing::TestWithParam<const char*> {};

TEST_P(CmapssCommitted, FirstTenTestEnginesMatchTraining) {
  const std::string model = kRoot + "/models/" + GetParam();
  if (!std::filesystem::exists(kData + "/test_FD001.txt")) GTEST_SKIP() << "no C-MAPSS data at " << kData;
  auto sidecar_text = read_file(cmapss_sidecar_path(model));
  ASSERT_TRUE(sidecar_text.ok()) << sidecar_text.error().message;
  const nlohmann::json sidecar = nlohmann::json::parse(*sidecar_text, nullptr, false);
  ASSERT_TRUE(sidecar.contains("first10_pred") && sidecar.contains("figures"));
  const auto expected_pred = sidecar["first10_pred"].get<std::vector<double>>();
  const double expected_rmse = sidecar["figures"]["first10_rmse"].get<double>();
  ASSERT_EQ(expected_pred.size(), 10u);
  EXPECT_GT(expected_rmse, 1.0);  // a real figure, not a placeholder

  auto score = evaluate_cmapss(model, "", kData + "/test_FD001.txt", kData + "/RUL_FD001.txt", 10);
  ASSERT_TRUE(score.ok()) << score.error().message;
  ASSERT_EQ(score->units.size(), 10u);
  EXPECT_EQ(score->units.front(), 1);
  EXPECT_EQ(score->truth.front(), 112);  // RUL_FD001.txt line 1
  for (std::size_t i = 0; i < 10; ++i) EXPECT_NEAR(score->predicted[i], expected_pred[i], 1e-3) << "engine " << i + 1;
  EXPECT_NEAR(score->rmse, expected_rmse, 1e-3);
}

INSTANTIATE_TEST_SUITE_P(Models, CmapssCommitted,
                         ::testing::Values("cmapss_fd001_gru.onnx", "cmapss_fd001_tfb.onnx", "cmapss_fd001_tfb_age.onnx",
                                           "cmapss_fd001_xgb.json", "cmapss_fd001_xgb_age.json"),
                         [](const ::testing::TestParamInfo<const char*>& p) {
                           const std::string name = std::string(p.param).substr(13);  // after "cmapss_fd001_"
                           return name.substr(0, name.find('.'));
                         });

// The command's contract line on all of FD001 (XGBoost: deterministic, and its figures are the
// training script's, read from the sidecar: "figures.test_rmse", "test_phm08"), and its errors.
TEST(CmapssEval, ContractLineOnFd001) {
  if (!std::filesystem::exists(kData + "/test_FD001.txt")) GTEST_SKIP() << "no C-MAPSS data at " << kData;
  EvalOptions o;
  o.model_path = kRoot + "/models/cmapss_fd001_xgb.json";
  o.test_path = kData + "/test_FD001.txt";
  o.rul_path = kData + "/RUL_FD001.txt";
  const Registry registry;
  auto r = run_cmapss_eval(o, registry);
  ASSERT_TRUE(r.ok()) << r.error().message;
  auto sidecar_text = read_file(cmapss_sidecar_path(o.model_path));
  ASSERT_TRUE(sidecar_text.ok()) << sidecar_text.error().message;
  const nlohmann::json figures = nlohmann::json::parse(*sidecar_text, nullptr, false)["figures"];
  const nlohmann::json line = nlohmann::json::parse(r->summary_json, nullptr, false);
  ASSERT_TRUE(line.is_object()) << r->summary_json;
  EXPECT_EQ(r->summary_json.rfind(R"({"dataset":"cmapss","engines":100,"rmse":)", 0), 0u) << r->summary_json;
  EXPECT_NEAR(line["rmse"].get<double>(), figures["test_rmse"].get<double>(), 2e-4) << r->summary_json;
  EXPECT_NEAR(line["phm08"].get<double>(), figures["test_phm08"].get<double>(), 0.02) << r->summary_json;
  o.rul_path = kData + "/train_FD001.txt";  // not a RUL file
  auto bad = run_cmapss_eval(o, registry);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("expected one number"), std::string::npos) << bad.error().message;
}

}  // namespace
}  // namespace edgeloop::eval
