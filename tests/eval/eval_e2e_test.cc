// End-to-end evaluation on slices of the shared data (skipped without it): the replay through
// a real Runtime gives exactly the scores the detector stage gives when called directly, and
// `eval nab|skab` writes the summary line, the report and the plots.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "config/yaml_loader.h"
#include "eval/evaluation.h"
#include "eval/nab_corpus.h"
#include "eval/replay.h"
#include "eval/text_io.h"
#include "models/builtins.h"
#include "operators/builtins.h"
#include "rules/builtins.h"
#include "runtime/inproc_source.h"

namespace edgeloop::eval {
namespace {

const std::string kData = std::string(EDGELOOP_SOURCE_DIR) + "/../shared/data";

const Registry& registry() {
  static const Registry r = [] {
    Registry reg;
    register_operators(reg);
    register_rules(reg);
    register_models(reg);
    register_runtime(reg);
    return reg;
  }();
  return r;
}

class Collect final : public Emitter {
 public:
  void forward(const Record& r) override { records.push_back(r); }
  void emit(Event&&) override {}
  std::vector<Record> records;
};

TEST(EvalE2E, ReplayThroughTheRuntimeScoresLikeTheStageItself) {
  if (!std::filesystem::exists(kData + "/nab/labels/combined_windows.json")) GTEST_SKIP() << "no shared NAB data";
  auto corpus = load_nab_corpus(kData + "/nab", "realTraffic/speed_");
  ASSERT_TRUE(corpus.ok()) << corpus.error().message;
  ASSERT_EQ(corpus->files.size(), 3u);
  auto config = load_eval_config("", builtin_nab_config(), "<nab>");
  ASSERT_TRUE(config.ok()) << config.error().message;
  std::vector<ReplaySeries> series;
  for (const auto& f : corpus->files) series.push_back({f.name, &f.ts_ns, {"value"}, f.values});
  ReplayStats stats;
  auto out = replay(*config, registry(), series, stats);
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(stats.rows, corpus->rows());
  EXPECT_FALSE(stats.has_rules);

  // The same step, built from the same config node, called directly: one instance per file.
  const StepConfig& step = config->pipelines[0].steps[0];
  const Schema input({"value"});
  const std::string pipeline = "nab";
  for (std::size_t f = 0; f < corpus->files.size(); ++f) {
    StageContext ctx;
    ctx.pipeline = pipeline;
    ctx.pipeline_name = &pipeline;
    ctx.name = step.name;
    ctx.input = &input;
    auto stage = registry().make_stage(step.name, step.node, step.path, ctx);
    ASSERT_TRUE(stage.ok()) << stage.error().message;
    Collect c;
    const auto& file = corpus->files[f];
    for (std::size_t i = 0; i < file.values.size(); ++i) {
      Record r;
      r.key = 7;
      r.slot = 0;
      r.ts_ns = file.ts_ns[i];
      r.nfields = 1;
      r.f[0] = file.values[i];
      (*stage)->process(r, c);
    }
    ASSERT_EQ(c.records.size(), file.values.size());
    std::size_t high = 0;
    for (std::size_t i = 0; i < file.values.size(); ++i) {
      ASSERT_EQ((*out)[f].score[i], c.records[i].f[1]) << file.name << " row " << i;
      high += c.records[i].f[1] > 0.5;
    }
    EXPECT_GT(high, 0u) << file.name;
  }
}

TEST(EvalE2E, NabSliceWritesSummaryReportAndPlots) {
  if (!std::filesystem::exists(kData + "/nab/labels/combined_windows.json")) GTEST_SKIP() << "no shared NAB data";
  const auto dir = std::filesystem::temp_directory_path() / "edgeloop_eval_e2e";
  std::filesystem::remove_all(dir);
  EvalOptions o;
  o.data_dir = kData + "/nab";
  o.only = "artificialWithAnomaly/art_daily_j";  // jumpsdown and jumpsup
  o.report_path = (dir / "nab.json").string();
  auto r = run_nab_eval(o, registry());
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto j = nlohmann::json::parse(r->summary_json);
  EXPECT_EQ(j["dataset"], "nab");
  EXPECT_EQ(j["files"], 2);
  for (const char* k : {"standard", "reward_low_FP_rate", "reward_low_FN_rate"}) {
    ASSERT_TRUE(j.contains(k)) << k;
    EXPECT_GE(j[k].get<double>(), -100.0);
    EXPECT_LE(j[k].get<double>(), 100.0);
  }
  EXPECT_EQ(j.size(), 5u);
  EXPECT_EQ(r->summary_json.find('\n'), std::string::npos);
  auto text = read_file(o.report_path);
  ASSERT_TRUE(text.ok());
  const auto report = nlohmann::json::parse(*text);
  EXPECT_EQ(report["files"], 2);
  EXPECT_EQ(report["windows"], 2);
  EXPECT_EQ(report["replay"]["rows"], 8064);
  EXPECT_TRUE(std::filesystem::exists(dir / "nab_plots" / "artificialWithAnomaly__art_daily_jumpsup.svg"));
  EXPECT_TRUE(std::filesystem::exists(dir / "nab_plots" / "artificialWithAnomaly__art_daily_jumpsdown.svg"));
  std::filesystem::remove_all(dir);
}

TEST(EvalE2E, SkabSliceUsesTheRuleAlerts) {
  if (!std::filesystem::exists(kData + "/skab/valve1/1.csv")) GTEST_SKIP() << "no shared SKAB data";
  EvalOptions o;
  o.data_dir = kData + "/skab";
  o.only = "valve1/1";  // 1.csv, 10.csv ... 15.csv
  auto r = run_skab_eval(o, registry());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->stats.has_rules);
  const auto j = nlohmann::json::parse(r->summary_json);
  EXPECT_EQ(j["dataset"], "skab");
  EXPECT_EQ(j["files"], 7);
  EXPECT_GT(j["f1"].get<double>(), 0.5);
  EXPECT_EQ(j.size(), 5u);
}

TEST(EvalE2E, ConfigWithoutAnInprocSourceIsRefused) {
  auto root = load_yaml_string("sources:\n  s: {type: inproc, fields: [value]}\n"
                               "pipelines:\n  p: {from: s, steps: [{filter: \"value > 0\"}]}\n",
                               "<t>");
  ASSERT_TRUE(root.ok());
  auto config = parse_app_config(*root);
  ASSERT_TRUE(config.ok()) << config.error().message;
  std::vector<int64_t> ts = {1, 2};
  std::vector<ReplaySeries> series = {{"k", &ts, {"value"}, {1.0, 2.0}}};
  ReplayStats stats;
  auto out = replay(*config, registry(), series, stats);
  ASSERT_TRUE(out.ok()) << out.error().message;  // no score field: no tap, scores stay NaN
  EXPECT_TRUE(std::isnan((*out)[0].score[0]));
  config->sources[0].type = "mqtt";
  auto refused = replay(*config, registry(), series, stats);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("inproc"), std::string::npos);
}

}  // namespace
}  // namespace edgeloop::eval
