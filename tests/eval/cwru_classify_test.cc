// The CWRU fault classifier's pieces: the vote, the confusion matrix, the model card and which
// model classifies a recording, the segments (the baseline's split), the feature vector, and
// one run of the committed model (models/cwru_fault_xgb.json) over two recordings.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numbers>

#include "eval/cwru_classify.h"
#include "eval/cwru_classify_features.h"

namespace edgeloop::eval {
namespace {

const std::string kCwru = std::string(EDGELOOP_SOURCE_DIR) + "/../shared/data/cwru";
const std::string kModel = std::string(EDGELOOP_SOURCE_DIR) + "/models/cwru_fault_xgb.json";

TEST(CwruVote, MajorityOfArgmaxTiesToTheLargerSum) {
  // 3 windows x 3 classes: argmax 1, 1, 2 -> class 1.
  const std::vector<float> a = {0.1f, 0.8f, 0.1f, 0.2f, 0.5f, 0.3f, 0.0f, 0.1f, 0.9f};
  EXPECT_EQ(vote(a, 3, 3), 1);
  // 2 windows, one vote each for classes 0 and 2: the larger summed score wins.
  const std::vector<float> b = {0.6f, 0.0f, 0.4f, 0.2f, 0.0f, 0.8f};
  EXPECT_EQ(vote(b, 2, 3), 2);  // votes 1:1, sums 0.8 vs 1.2
  const std::vector<float> c = {0.9f, 0.0f, 0.1f, 0.45f, 0.0f, 0.55f};
  EXPECT_EQ(vote(c, 2, 3), 0);  // votes 1:1, sums 1.35 vs 0.65
  EXPECT_EQ(vote({}, 0, 3), -1);
  EXPECT_EQ(vote(a, 4, 3), -1);  // fewer scores than windows x classes
}

TEST(CwruConfusion, CountsAndAccuracy) {
  ConfusionMatrix m({"normal", "inner", "outer", "ball"});
  m.add(0, 0);
  m.add(1, 1);
  m.add(1, 1);
  m.add(2, 2);
  m.add(3, 2);  // a ball fault read as outer race
  m.add(7, 0);  // out of range: ignored
  EXPECT_EQ(m.total(), 5u);
  EXPECT_EQ(m.correct(), 4u);
  EXPECT_DOUBLE_EQ(m.accuracy(), 0.8);
  EXPECT_EQ(m.counts[3][2], 1u);
  EXPECT_EQ(m.counts[1][1], 2u);
  EXPECT_EQ(m.to_text(),
            "truth\\pred normal  inner  outer   ball\n"
            "    normal      1      0      0      0\n"
            "     inner      0      2      0      0\n"
            "     outer      0      0      1      0\n"
            "      ball      0      0      1      0\n");
  EXPECT_TRUE(std::isnan(ConfusionMatrix({"a", "b"}).accuracy()));
}

constexpr const char* kCard = R"({
  "feature_names": ["a", "b"],
  "classes": [{"name": "normal", "label": "normal"}, {"name": "IR007", "label": "inner", "size_in": 0.007}],
  "window": 8192, "hop": 2048, "normal_split": 0.6,
  "final": {"model": "m.json", "train_recordings": ["IR007_1", "IR007_2", "N.part1"]},
  "folds": [{"test_load": 1, "model": "m_fold1.json", "train_recordings": ["IR007_2", "N.part1"]},
            {"test_load": 2, "model": "m_fold2.json", "train_recordings": ["IR007_1", "N.part1"]}]
})";

TEST(CwruModelCard, ParsesAndPicksTheModelThatNeverSawTheRecording) {
  auto card = parse_cwru_model_card(kCard, "/m");
  ASSERT_TRUE(card.ok()) << card.error().message;
  EXPECT_EQ(card->feature_names, (std::vector<std::string>{"a", "b"}));
  ASSERT_EQ(card->classes.size(), 2u);
  EXPECT_EQ(card->classes[1].defect, BearingDefect::kInnerRace);
  EXPECT_DOUBLE_EQ(card->classes[1].size_in, 0.007);
  EXPECT_EQ(card->final_model.path, "/m/m.json");
  ASSERT_EQ(card->folds.size(), 2u);
  EXPECT_EQ(card->folds[1].path, "/m/m_fold2.json");
  EXPECT_EQ(model_for(*card, "IR007_1", 1), &card->folds[0]);  // trained on by the final model: its fold's
  EXPECT_EQ(model_for(*card, "IR007_2", 2), &card->folds[1]);
  EXPECT_EQ(model_for(*card, "IR007_3", 3), &card->final_model);  // never seen: the final model
  EXPECT_EQ(model_for(*card, "N.part2", 0), &card->final_model);
  EXPECT_EQ(model_for(*card, "N.part1", 0), nullptr);  // every model trained on it
  EXPECT_EQ(model_for(*card, "IR007_1", 3), nullptr);  // no fold for load 3
  EXPECT_EQ(cwru_card_path("models/cwru_fault_xgb.json"), "models/cwru_fault_xgb.sidecar.json");
}

TEST(CwruModelCard, RejectsWhatItCannotUse) {
  EXPECT_FALSE(parse_cwru_model_card("[1]", "").ok());
  EXPECT_FALSE(parse_cwru_model_card("{", "").ok());
  std::string bad_label = kCard;
  bad_label.replace(bad_label.find("\"inner\""), 7, "\"race\"");
  auto r = parse_cwru_model_card(bad_label, "");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("'race' is not a CWRU label"), std::string::npos);
  std::string bad_split = kCard;
  bad_split.replace(bad_split.find("0.6"), 3, "0.5");
  EXPECT_FALSE(parse_cwru_model_card(bad_split, "").ok());
  std::string no_fold_load = kCard;
  no_fold_load.replace(no_fold_load.find("\"test_load\": 2, "), 16, "");
  EXPECT_FALSE(parse_cwru_model_card(no_fold_load, "").ok());
}

TEST(CwruSegments, BaselineSplitAtSixtyPercentOnWholeHops) {
  CwruData d;
  CwruRecording r;
  r.name = "IR007_1";
  r.defect = BearingDefect::kInnerRace;
  r.size_mils = 7;
  r.load_hp = 1;
  r.rpm = 1772;
  r.samples.assign(1000, 0.0);
  d.recordings.push_back(r);
  d.baseline.name = "normal/Normal_0_first70pct.mat";
  d.baseline.rpm = 1797;
  d.baseline.samples.assign(10000, 0.0);
  const auto s = cwru_segments(d, 512);
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].id, "IR007_1");
  EXPECT_DOUBLE_EQ(s[0].size_in, 0.007);
  EXPECT_EQ(s[0].to, 1000u);
  EXPECT_EQ(s[1].id, "Normal_0_first70pct.part1");
  EXPECT_EQ(s[1].from, 0u);
  EXPECT_EQ(s[1].to, 5632u);  // 6000 rounded down to 11 x 512
  EXPECT_EQ(s[2].id, "Normal_0_first70pct.part2");
  EXPECT_EQ(s[2].from, 5632u);
  EXPECT_EQ(s[2].to, 10000u);
  EXPECT_EQ(s[2].defect, BearingDefect::kNone);
}

TEST(CwruFeatures, NamesWindowsAndAnOuterRaceLine) {
  EXPECT_FALSE(CwruFeatureExtractor::create(4000, 12000).ok());
  EXPECT_FALSE(CwruFeatureExtractor::create(8192, 8000).ok());
  auto fx = CwruFeatureExtractor::create(8192, 12000);
  ASSERT_TRUE(fx.ok()) << fx.error().message;
  const auto& names = (*fx)->names();
  ASSERT_EQ(names.size(), 17u + 3 * 20);
  EXPECT_EQ(names[0], "log_rms");
  EXPECT_EQ(names[16], "centroid_rel");
  EXPECT_EQ(names[17], "env1k3k_ftf_h1");
  EXPECT_EQ(names.back(), "env05k58k_peak");
  // Impacts at BPFO = 3.5848 x 30 Hz ringing a 2 kHz resonance, a little noise.
  const double fr = 30, bpfo = 3.5848 * fr, fs = 12000;
  std::vector<double> x(8192 + 3 * 1024);
  uint32_t seed = 1;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double t = static_cast<double>(i) / fs;
    const double since = std::fmod(t, 1 / bpfo);
    seed = seed * 1664525u + 1013904223u;
    x[i] = std::exp(-since * 800) * std::sin(2 * std::numbers::pi * 2000 * since) +
           0.05 * (static_cast<double>(seed >> 8) / 16777216.0 - 0.5);
  }
  std::size_t windows = 0;
  const auto rows = cwru_window_features(**fx, x, 0, x.size(), 1024, fr * 60, &windows);
  ASSERT_EQ(windows, 4u);
  ASSERT_EQ(rows.size(), 4 * names.size());
  const auto at = [&](const std::string& n) {
    const auto i = static_cast<std::size_t>(std::find(names.begin(), names.end(), n) - names.begin());
    return rows[i];
  };
  for (float v : rows) EXPECT_TRUE(std::isfinite(v));
  EXPECT_GT(at("env1k3k_bpfo_h1"), 2.0f);  // 100x the envelope spectrum's median
  EXPECT_GT(at("env1k3k_bpfo_h1"), at("env1k3k_bpfi_h1") + 1.5f);
  EXPECT_GT(at("kurtosis"), 4.0f);
}

// Two recordings (a ball fault at 2 hp, the weak outer-race record at 1 hp) and the baseline's
// held-back part through the committed model: each is classified by the model that never saw
// it (the fold model of its load; the final model for the baseline's part 2).
TEST(CwruClassify, CommittedModelOnTwoRecordings) {
  if (!std::filesystem::exists(kCwru + "/12k_DE/B014_2.mat")) GTEST_SKIP() << "no shared CWRU data";
  auto data = load_cwru(kCwru, "B014_2");
  ASSERT_TRUE(data.ok()) << data.error().message;
  auto more = load_cwru(kCwru, "OR014@6_1");
  ASSERT_TRUE(more.ok()) << more.error().message;
  data->recordings.push_back(std::move(more->recordings.at(0)));
  auto c = classify_cwru(*data, kModel);
  ASSERT_TRUE(c.ok()) << c.error().message;
  ASSERT_EQ(c->recordings.size(), 3u);
  const auto& b = c->recordings[0];
  EXPECT_EQ(b.id, "B014_2");
  EXPECT_EQ(b.truth, "B014");
  EXPECT_EQ(b.predicted, "B014");
  EXPECT_EQ(b.predicted_defect, BearingDefect::kBall);
  EXPECT_EQ(b.model, "cwru_fault_xgb_fold2.json");
  EXPECT_EQ(b.fold, 2);
  EXPECT_EQ(b.windows, 56u);  // (121,535 - 8192) / 2048 + 1
  const auto& o = c->recordings[1];
  EXPECT_EQ(o.id, "OR014@6_1");
  EXPECT_EQ(o.predicted, "OR014");
  EXPECT_EQ(o.model, "cwru_fault_xgb_fold1.json");
  const auto& n = c->recordings[2];
  EXPECT_EQ(n.id, "Normal_0_first70pct.part2");
  EXPECT_EQ(n.predicted, "normal");
  EXPECT_EQ(n.model, "cwru_fault_xgb.json");
  EXPECT_EQ(n.fold, -1);
  EXPECT_EQ(n.windows, 5u);
  EXPECT_EQ(c->defects_right, 3u);
  EXPECT_EQ(c->sizes_right, 3u);
  EXPECT_DOUBLE_EQ(c->accuracy, 1.0);
  EXPECT_NE(c->text.find("classification: 3 held-back recordings, defect right 3 (100.0%)"), std::string::npos);
}

// A sidecar whose feature list is not this build's is refused, naming the first difference.
TEST(CwruClassify, RefusesAModelOfOtherFeatures) {
  if (!std::filesystem::exists(kCwru + "/12k_DE/B014_2.mat")) GTEST_SKIP() << "no shared CWRU data";
  const auto dir = std::filesystem::temp_directory_path() / ("cwru_classify_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string card = kCard;
  card.replace(card.find("\"m.json\""), 8, "\"" + kModel + "\"");
  {
    std::ofstream f(dir / "m.sidecar.json");
    f << card;
  }
  auto data = load_cwru(kCwru, "B014_2");
  ASSERT_TRUE(data.ok()) << data.error().message;
  auto c = classify_cwru(*data, (dir / "m.json").string());
  std::filesystem::remove_all(dir);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("#0 is a there, log_rms here"), std::string::npos) << c.error().message;
}

}  // namespace
}  // namespace edgeloop::eval
