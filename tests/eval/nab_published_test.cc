// Reproduces NAB's own figures with our scorer on the published per-row output of Numenta HTM
// (shared/data/nab/published_results/numenta): the per-file raw scores at NAB's thresholds and
// the corpus scores with a re-optimised threshold. Skipped when the shared data is absent.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "eval/nab_corpus.h"
#include "eval/nab_scorer.h"
#include "eval/text_io.h"

namespace edgeloop::eval {
namespace {

const std::string kNab = std::string(EDGELOOP_SOURCE_DIR) + "/../shared/data/nab";

// The anomaly_score column of a published per-row result file.
std::vector<double> published_scores(const std::string& path) {
  auto text = read_file(path);
  EXPECT_TRUE(text.ok()) << path;
  if (!text.ok()) return {};
  std::vector<double> out;
  std::vector<std::string_view> cols;
  const auto ls = lines(*text);
  split(ls.at(0), ',', cols);
  std::size_t col = 0;
  while (col < cols.size() && cols[col] != "anomaly_score") ++col;
  for (std::size_t i = 1; i < ls.size(); ++i) {
    split(ls[i], ',', cols);
    out.push_back(*to_number(cols.at(col)));
  }
  return out;
}

struct PublishedFile {
  double threshold;
  double score;
  std::size_t tp, tn, fp, fn;
};

// numenta_<profile>_scores.csv: Detector,Profile,File,Threshold,Score,TP,TN,FP,FN,Total_Count
std::map<std::string, PublishedFile> published_file_scores(const std::string& path) {
  std::map<std::string, PublishedFile> out;
  auto text = read_file(path);
  EXPECT_TRUE(text.ok()) << path;
  if (!text.ok()) return out;
  std::vector<std::string_view> c;
  const auto ls = lines(*text);
  for (std::size_t i = 1; i < ls.size(); ++i) {
    split(ls[i], ',', c);
    if (c.size() < 10 || c[2] == "Totals") continue;
    out[std::string(c[2])] = {*to_number(c[3]), *to_number(c[4]),
                              static_cast<std::size_t>(*to_number(c[5])), static_cast<std::size_t>(*to_number(c[6])),
                              static_cast<std::size_t>(*to_number(c[7])), static_cast<std::size_t>(*to_number(c[8]))};
  }
  return out;
}

class NabPublished : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(kNab + "/labels/combined_windows.json")) GTEST_SKIP() << "no shared NAB data at " << kNab;
    auto c = load_nab_corpus(kNab);
    ASSERT_TRUE(c.ok()) << c.error().message;
    corpus_ = std::move(*c);
    for (const auto& f : corpus_.files) {
      sweeps_.push_back(nab_sweep(f.values.size(), f.windows));
      const auto slash = f.name.find('/');
      const std::string path = kNab + "/published_results/numenta/" + f.name.substr(0, slash) + "/numenta_" +
                               f.name.substr(slash + 1);
      scores_.push_back(published_scores(path));
      ASSERT_EQ(scores_.back().size(), f.values.size()) << f.name;
    }
  }
  NabCorpus corpus_;
  std::vector<NabSweep> sweeps_;
  std::vector<std::vector<double>> scores_;
};

TEST_F(NabPublished, CorpusShape) {
  EXPECT_EQ(corpus_.files.size(), 41u);
  EXPECT_EQ(corpus_.windows(), 64u);
}

TEST_F(NabPublished, PerFileScoresAtPublishedThresholds) {
  for (const auto& profile : nab_profiles()) {
    const auto published = published_file_scores(kNab + "/published_results/numenta/numenta_" + profile.name + "_scores.csv");
    ASSERT_EQ(published.size(), corpus_.files.size()) << profile.name;
    for (std::size_t f = 0; f < corpus_.files.size(); ++f) {
      const auto it = published.find(corpus_.files[f].name);
      ASSERT_NE(it, published.end()) << corpus_.files[f].name;
      const NabFileScore s = nab_score_file(sweeps_[f], scores_[f], it->second.threshold, profile);
      EXPECT_NEAR(s.raw, it->second.score, 1e-9) << profile.name << " " << corpus_.files[f].name;
      EXPECT_EQ(s.counts.tp, it->second.tp) << corpus_.files[f].name;
      EXPECT_EQ(s.counts.tn, it->second.tn) << corpus_.files[f].name;
      EXPECT_EQ(s.counts.fp, it->second.fp) << corpus_.files[f].name;
      EXPECT_EQ(s.counts.fn, it->second.fn) << corpus_.files[f].name;
    }
  }
}

TEST_F(NabPublished, ReoptimisedCorpusScores) {
  const double want[] = {75.52, 70.68, 78.99};
  for (std::size_t p = 0; p < 3; ++p) {
    const auto r = nab_score_corpus(sweeps_, scores_, nab_profiles()[p]);
    EXPECT_NEAR(r.score, want[p], 0.005) << r.profile.name << " threshold " << r.threshold;
  }
}

TEST_F(NabPublished, NullDetectorScoresZero) {
  std::vector<std::vector<double>> zeros;
  for (const auto& f : corpus_.files) zeros.emplace_back(f.values.size(), 0.0);
  for (const auto& profile : nab_profiles()) {
    const auto r = nab_score_corpus(sweeps_, zeros, profile);
    EXPECT_DOUBLE_EQ(r.score, 0.0) << profile.name;
  }
}

}  // namespace
}  // namespace edgeloop::eval
