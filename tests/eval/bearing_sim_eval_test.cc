// `edgeloop eval bearing-sim`: the generated runs, their signals and blocks, the defect naming,
// and the evaluation on a slice of the runs with its exact outcome.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "eval/bearing_sim.h"
#include "eval/evaluation.h"
#include "eval/text_io.h"
#include "models/builtins.h"
#include "operators/builtins.h"
#include "operators/dsp/builtins.h"
#include "rules/builtins.h"
#include "runtime/inproc_source.h"

namespace edgeloop::eval {
namespace {

const Registry& registry() {
  static const Registry r = [] {
    Registry reg;
    register_operators(reg);
    register_dsp(reg);
    register_rules(reg);
    register_models(reg);
    register_runtime(reg);
    return reg;
  }();
  return r;
}

TEST(BearingSim, TheRunsOfTheGrid) {
  const auto runs = bearing_sim_runs();
  ASSERT_EQ(runs.size(), 66u);
  std::set<std::string> names;
  std::set<uint64_t> seeds;
  std::size_t faulty = 0;
  for (const auto& r : runs) {
    names.insert(r.name);
    seeds.insert(r.seed);
    faulty += r.defect != BearingDefect::kNone ? 1 : 0;
  }
  EXPECT_EQ(names.size(), 66u);
  EXPECT_EQ(seeds.size(), 66u);
  EXPECT_EQ(faulty, 54u);
  EXPECT_EQ(runs[0].name, "outer/sev1.00/snr20/1797rpm");
  EXPECT_EQ(runs[9].name, "healthy/snr20/1797rpm/1");
  EXPECT_EQ(runs[65].name, "healthy/snr8/1730rpm/2");
}

TEST(BearingSim, SignalsBlocksAndTheHealthyHead) {
  BearingSimRun faulty{"x", BearingDefect::kInnerRace, 0.5, 14, 1797, 5};
  BearingSimRun healthy = faulty;
  healthy.defect = BearingDefect::kNone;
  healthy.severity = 0;
  const auto a = generate_bearing_sim(faulty, 1.5, 0.5);
  const auto b = generate_bearing_sim(healthy, 1.5, 0.5);
  EXPECT_EQ(a.sample_rate_hz, 12000);
  EXPECT_EQ(a.onset, 18000u);
  ASSERT_EQ(a.samples.size(), 24000u);
  // The same seed and noise: identical until the onset, then the impacts.
  for (std::size_t i = 0; i < a.onset; ++i) ASSERT_EQ(a.samples[i], b.samples[i]) << i;
  double diff = 0;
  for (std::size_t i = a.onset; i < a.samples.size(); ++i) diff = std::max(diff, std::fabs(static_cast<double>(a.samples[i] - b.samples[i])));
  EXPECT_GT(diff, 0.3);

  const auto blocks = sample_blocks(a.samples, 1000, a.sample_rate_hz);
  ASSERT_EQ(blocks.size(), 24u);
  EXPECT_EQ(blocks[3]->samples.size(), 1000u);
  EXPECT_EQ(blocks[3]->samples[7], a.samples[3007]);
  EXPECT_EQ(blocks[3]->sample_rate_hz, 12000);
  EXPECT_EQ(sample_blocks(a.samples, 7000, 12000).size(), 3u);  // the partial last block is dropped
}

TEST(BearingSim, NamingTakesTheLargestMedian) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const std::vector<double> o = {50, 1, 2, 3, nan, 4};
  const std::vector<double> i = {0, 5, 5, 1, 9, 5};
  const std::vector<double> b = {0, 4, 6, 6, 9, 0};
  // (Upper) medians over the complete rows: the NaN row is left out.
  EXPECT_EQ(name_bearing_defect(o, i, b, 1, 6), BearingDefect::kBall);       // 3, 5, 6
  EXPECT_EQ(name_bearing_defect(o, i, b, 0, 6), BearingDefect::kInnerRace);  // 3, 5, 4
  EXPECT_EQ(name_bearing_defect(o, i, b, 1, 4), BearingDefect::kBall);       // 2, 5, 6
  EXPECT_EQ(name_bearing_defect(o, i, b, 0, 1), BearingDefect::kOuterRace);
  EXPECT_EQ(name_bearing_defect(o, i, b, 4, 5), BearingDefect::kNone);       // no complete row
}

TEST(BearingSimEval, ASliceOfTheRunsExactOutcome) {
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              ("edgeloop_bearing_sim_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()));
  std::filesystem::remove_all(dir);
  EvalOptions o;
  o.only = "/snr20/1797rpm";
  o.report_path = (dir / "bs.json").string();
  auto r = run_bearing_sim_eval(o, registry());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->summary_json,
            "{\"dataset\":\"bearing-sim\",\"runs\":11,\"faulty\":9,\"detected\":9,\"healthy_windows\":523,\"false_alarms\":0,"
            "\"defects_named\":9}")
      << r->text;
  EXPECT_TRUE(r->stats.has_rules);
  EXPECT_EQ(r->stats.samples, 11u * 187 * 1024);  // 16 s at 12 kHz: 187 whole blocks of 1024
  auto text = read_file(o.report_path);
  ASSERT_TRUE(text.ok());
  const auto j = nlohmann::json::parse(*text);
  ASSERT_EQ(j["per_run"].size(), 11u);
  EXPECT_EQ(j["per_run"][0]["run"], "outer/sev1.00/snr20/1797rpm");
  EXPECT_EQ(j["per_run"][0]["named"], "outer");
  EXPECT_TRUE(std::filesystem::exists(dir / j["per_run"][0]["plot"].get<std::string>()));

  // The protocol needs a samples step and the warm-up as a duration.
  auto error_of = [&](const std::string& name, const std::string& steps) {
    const std::string path = (dir / name).string();
    EXPECT_TRUE(write_file_atomic(path, "sources: {sim: {type: inproc, fields: [rpm]}}\npipelines:\n  p:\n    from: sim\n"
                                        "    steps:\n" + steps).ok());
    EvalOptions bad;
    bad.config_path = path;
    auto e = run_bearing_sim_eval(bad, registry());
    return e.ok() ? std::string("(no error)") : e.error().message;
  };
  EXPECT_NE(error_of("a.yaml", "      - detect: {method: robust, warmup: 2s}\n").find("pipeline p has no `samples` step"),
            std::string::npos);
  EXPECT_NE(error_of("b.yaml", "      - samples: {size: 1024}\n      - features: [rms]\n      - detect: {warmup: 100}\n")
                .find("give `warmup` as a duration"),
            std::string::npos);
  o.only = "no such run";
  auto none = run_bearing_sim_eval(o, registry());
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, Errc::kNotFound);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace edgeloop::eval
