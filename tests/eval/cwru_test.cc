// The CWRU evaluation: recording names, the defect vote, the replay of sample blocks (and the
// fields it collects), op.envelope's bsf_multiple, loading the shared data (decimated
// baseline) and `eval cwru` end to end on a slice (skipped without the shared data).
#include "eval/cwru.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>

#include "config/yaml_loader.h"
#include "eval/evaluation.h"
#include "eval/replay.h"
#include "eval/text_io.h"
#include "models/builtins.h"
#include "operators/builtins.h"
#include "operators/dsp/bearing.h"
#include "operators/dsp/builtins.h"
#include "operators/dsp/envelope.h"
#include "operators/dsp/synthetic.h"
#include "operators/stage_harness.h"
#include "rules/builtins.h"
#include "runtime/inproc_source.h"

namespace edgeloop::eval {
namespace {

const std::string kCwru = std::string(EDGELOOP_SOURCE_DIR) + "/../shared/data/cwru";
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

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

TEST(Cwru, ParsesRecordingNames) {
  auto ir = parse_cwru_name("IR007_1");
  ASSERT_TRUE(ir.ok()) << ir.error().message;
  EXPECT_EQ(ir->fault_class, "IR007");
  EXPECT_EQ(ir->defect, BearingDefect::kInnerRace);
  EXPECT_EQ(ir->size_mils, 7);
  EXPECT_EQ(ir->load_hp, 1);
  auto orr = parse_cwru_name("OR014@6_0");
  ASSERT_TRUE(orr.ok());
  EXPECT_EQ(orr->fault_class, "OR014@6");
  EXPECT_EQ(orr->defect, BearingDefect::kOuterRace);
  EXPECT_EQ(orr->size_mils, 14);
  EXPECT_EQ(orr->load_hp, 0);
  auto b = parse_cwru_name("B021_3");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->fault_class, "B021");
  EXPECT_EQ(b->defect, BearingDefect::kBall);
  EXPECT_EQ(b->load_hp, 3);
  EXPECT_TRUE(parse_cwru_name("OR007@12_2").ok());
  for (const char* bad : {"", "IR07_1", "IR007", "IR007_4", "OR014_0", "X007_1", "IR007_1x", "B0071_1", "Normal_0"}) {
    EXPECT_FALSE(parse_cwru_name(bad).ok()) << bad;
  }
  EXPECT_STREQ(defect_name(BearingDefect::kInnerRace), "inner race");
  EXPECT_STREQ(defect_field(BearingDefect::kBall), "bsf");
  EXPECT_EQ(cwru_nominal_rpm(2), 1750);
}

TEST(Cwru, TheLargestMedianNamesTheDefect) {
  // Rows 1 .. 5 (row 0 and 6 outside the range; row 3 has a NaN and is skipped).
  const std::vector<double> bpfo = {100, 1, 2, kNaN, 3, 50, 100};
  const std::vector<double> bpfi = {0, 5, 6, 9, 7, 1, 0};
  const std::vector<double> bsf = {0, 2, 2, 9, 2, 2, 0};
  const DefectNaming n = name_defect(bpfo, bpfi, bsf, 1, 6);
  EXPECT_EQ(n.windows, 4u);
  EXPECT_EQ(n.bpfo, 2.5);  // median of 1, 2, 3, 50
  EXPECT_EQ(n.bpfi, 5.5);
  EXPECT_EQ(n.bsf, 2.0);
  EXPECT_EQ(n.named, BearingDefect::kInnerRace);
  EXPECT_DOUBLE_EQ(n.lead, 5.5 / 2.5);
  const DefectNaming none = name_defect(bpfo, bpfi, bsf, 3, 4);
  EXPECT_EQ(none.windows, 0u);
  EXPECT_EQ(none.named, BearingDefect::kNone);
}

TEST(Cwru, MakeBlocksCutsWholeBlocks) {
  std::vector<double> x(10);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<double>(i) + 0.5;
  const auto b = make_blocks(x, 1, 10, 4, 1000);
  ASSERT_EQ(b.size(), 2u);  // samples 1..4 and 5..8; 9 is left out
  EXPECT_EQ(b[0]->sample_rate_hz, 1000);
  EXPECT_EQ(b[0]->samples, (std::vector<float>{1.5f, 2.5f, 3.5f, 4.5f}));
  EXPECT_EQ(b[1]->samples, (std::vector<float>{5.5f, 6.5f, 7.5f, 8.5f}));
  EXPECT_TRUE(make_blocks(x, 0, 10, 0, 1000).empty());
}

// Blocks through op.samples and op.features in a real Runtime: the window that starts at a
// row is filed under it, with the fields it carries (those of the block that completed it).
TEST(ReplayBlocks, WindowsLandOnTheRowTheyStartAtAndFieldsAreCollected) {
  const char* yaml = R"(
sources:
  s: {type: inproc, fields: [rpm]}
pipelines:
  p:
    from: s
    steps:
      - samples: {size: 64, hop: 32}
      - features: [rms, peak]
      - detect: {method: mahalanobis, fields: [rms], warmup: 3, emit: none}
runtime: {shards: 1}
)";
  auto config = load_eval_config("", yaml, "<test>");
  ASSERT_TRUE(config.ok()) << config.error().message;
  const double fs = 32000;  // a block of 32 samples lasts 1 ms
  std::vector<int64_t> ts;
  for (int i = 0; i < 10; ++i) ts.push_back(int64_t{5'000'000'000} + i * int64_t{1'000'000});
  std::vector<ReplaySeries> series(2);
  for (std::size_t s = 0; s < 2; ++s) {
    series[s].key = "k" + std::to_string(s);
    series[s].ts_ns = &ts;
    series[s].columns = {"rpm"};
    for (int i = 0; i < 10; ++i) {
      series[s].values.push_back(1000.0 + 10 * static_cast<double>(s) + i);
      auto b = std::make_shared<SampleBlock>();
      b->sample_rate_hz = fs;
      for (int j = 0; j < 32; ++j)
        b->samples.push_back(static_cast<float>(std::sin(0.1 * (i * 32 + j) + static_cast<double>(s)) * (1 + 0.1 * i)));
      series[s].blocks.push_back(std::move(b));
    }
  }
  ReplayStats stats;
  auto out = replay(*config, registry(), series, stats, {}, {"rms", "peak", "rpm"});
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(stats.rows, 20u);
  EXPECT_EQ(stats.samples, 640u);
  EXPECT_EQ(stats.points, 20u);
  for (std::size_t s = 0; s < 2; ++s) {
    const ReplayOutput& o = (*out)[s];
    ASSERT_EQ(o.collected.size(), 3u);
    EXPECT_EQ(o.unmatched_events, 0u);
    EXPECT_EQ(o.score_events, 9u);
    for (std::size_t i = 0; i < 9; ++i) {
      // The window of rows i and i + 1.
      double ss = 0, peak = 0;
      for (std::size_t r = i; r <= i + 1; ++r) {
        for (float v : series[s].blocks[r]->samples) {
          ss += static_cast<double>(v) * v;
          peak = std::max(peak, static_cast<double>(std::fabs(v)));
        }
      }
      EXPECT_NEAR(o.collected[0][i], std::sqrt(ss / 64), 1e-12) << i;
      EXPECT_EQ(o.collected[1][i], peak) << i;
      EXPECT_EQ(o.collected[2][i], series[s].values[i + 1]) << i;  // the completing block's rpm
      EXPECT_FALSE(std::isnan(o.score[i])) << i;
      if (i < 3) {
        EXPECT_EQ(o.score[i], 0.0) << i;  // the warm-up
      }
    }
    // The last row starts no full window.
    EXPECT_TRUE(std::isnan(o.score[9]));
    for (const auto& c : o.collected) EXPECT_TRUE(std::isnan(c[9]));
  }

  // A field the pipeline's output does not have.
  ReplayStats st2;
  auto missing = replay(*config, registry(), series, st2, {}, {"rms", "bpfo"});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("'bpfo'"), std::string::npos) << missing.error().message;
  // Blocks for some rows only.
  series[1].blocks.pop_back();
  auto uneven = replay(*config, registry(), series, st2);
  ASSERT_FALSE(uneven.ok());
  EXPECT_EQ(uneven.error().code, Errc::kInvalidArgument);
}

// bsf_multiple: 2 sums the harmonics of 2·BSF (2, 4, 6 x BSF) instead of BSF's (1, 2, 3 x).
TEST(EnvelopeBsfMultiple, SumsTheHarmonicsOfTwiceTheBallSpinFrequency) {
  const Schema in({"rpm"});
  const auto build = [&](const char* multiple) {
    return testing::make_stage_in(registry(), "envelope",
                                  testing::options_node({{"band", std::vector<std::string>{"1000", "3000"}},
                                                         {"n_balls", "9"},
                                                         {"ball_diameter", "0.3126"},
                                                         {"pitch_diameter", "1.537"},
                                                         {"shaft_field", "rpm"},
                                                         {"bsf_multiple", multiple}}),
                                  in);
  };
  auto one = build("1");
  auto two = build("2");
  ASSERT_TRUE(one.ok()) << one.error().message;
  ASSERT_TRUE(two.ok()) << two.error().message;
  EXPECT_FALSE(build("3").ok());
  EXPECT_FALSE(build("0").ok());

  const double rpm = 1772;
  const dsp::BearingGeometry g{9, 0.3126, 1.537, 0};
  const dsp::DefectFrequencies d = dsp::defect_frequencies(g, rpm / 60);
  dsp::BearingSignal sig;
  sig.sample_rate_hz = 12000;
  sig.shaft_hz = rpm / 60;
  sig.defect_hz = 2 * d.bsf;  // a ball spall: impacts at twice the spin frequency
  sig.resonance_hz = 2000;
  auto b = std::make_shared<SampleBlock>();
  b->sample_rate_hz = sig.sample_rate_hz;
  b->samples.resize(8192);
  dsp::bearing_samples(sig, 0, b->samples.size(), b->samples.data());
  Record r;
  r.nfields = 1;
  r.f[0] = rpm;
  r.block = b;
  testing::Collect o1, o2;
  (*one)->process(r, o1);
  (*two)->process(r, o2);
  ASSERT_EQ(o1.records.size(), 1u);
  ASSERT_EQ(o2.records.size(), 1u);
  // The other fields do not change.
  EXPECT_EQ(o1.records[0].f[1], o2.records[0].f[1]);
  EXPECT_EQ(o1.records[0].f[2], o2.records[0].f[2]);
  EXPECT_EQ(o1.records[0].f[4], o2.records[0].f[4]);
  // bsf: exactly the energy at harmonics 1..3 of 2·BSF over the median x 3.
  auto a = dsp::EnvelopeAnalyzer::create(8192, 12000, 1000, 3000);
  ASSERT_TRUE(a.ok());
  (*a)->analyze(b->samples.data());
  const double norm = (*a)->median() * 3;
  EXPECT_DOUBLE_EQ(o2.records[0].f[3], (*a)->harmonic_energy(2 * d.bsf, 3, 0.02) / norm);
  EXPECT_DOUBLE_EQ(o1.records[0].f[3], (*a)->harmonic_energy(d.bsf, 3, 0.02) / norm);
  // All three harmonics of 2·BSF carry the impacts; of BSF's, only the second does.
  EXPECT_GT(o2.records[0].f[3], o1.records[0].f[3]);
  // And with 2·BSF the ball leads.
  EXPECT_GT(o2.records[0].f[3], o2.records[0].f[1]);
  EXPECT_GT(o2.records[0].f[3], o2.records[0].f[2]);
}

TEST(Cwru, LoadsASliceAndTheDecimatedBaseline) {
  if (!std::filesystem::exists(kCwru + "/12k_DE/IR007_1.mat")) GTEST_SKIP() << "no shared CWRU data";
  auto data = load_cwru(kCwru, "07");  // B007_*, IR007_*, OR007@6_*
  ASSERT_TRUE(data.ok()) << data.error().message;
  ASSERT_EQ(data->recordings.size(), 9u);
  const char* names[] = {"B007_1", "IR007_1", "OR007@6_1"};
  const int records[] = {119, 106, 131};
  const double rpms[] = {1772, 1772, 1773};
  const std::size_t sizes[] = {121410, 121991, 122426};
  const std::size_t at[] = {1, 3, 7};  // B007_0..2, IR007_1..3, OR007@6_0, _1, _3
  for (std::size_t i = 0; i < 3; ++i) {
    const auto& r = data->recordings[at[i]];
    EXPECT_EQ(r.name, names[i]);
    EXPECT_EQ(r.record, records[i]);
    EXPECT_EQ(r.rpm, rpms[i]);
    EXPECT_TRUE(r.rpm_from_file);
    EXPECT_EQ(r.samples.size(), sizes[i]);
    EXPECT_EQ(r.load_hp, 1);
  }
  EXPECT_EQ(data->recordings[3].samples[1], -0.04434479041916167);  // X106_DE_time(2), as scipy reads it
  const CwruBaseline& b = data->baseline;
  EXPECT_EQ(b.name, "normal/Normal_0_first70pct.mat");
  EXPECT_EQ(b.record, 97);
  EXPECT_EQ(b.rpm, 1796);
  EXPECT_EQ(b.source_samples, 170757u);
  EXPECT_EQ(b.decimation, 4);
  EXPECT_EQ(b.samples.size(), 42690u);
  // The decimated baseline's RMS: the drive end's energy lies below 4.8 kHz (0.0712 g, as
  // scipy's firwin + decimate by 4 gives it).
  double ss = 0;
  for (double v : b.samples) ss += v * v;
  EXPECT_NEAR(std::sqrt(ss / static_cast<double>(b.samples.size())), 0.0712, 0.0005);
  EXPECT_FALSE(load_cwru(kCwru, "no such recording").ok());
  EXPECT_EQ(load_cwru("/nonexistent", "").error().code, Errc::kNotFound);
}

TEST(Cwru, EvalOnTheLoad1SliceDetectsEveryFaultAndRaisesNoFalseAlarm) {
  if (!std::filesystem::exists(kCwru + "/12k_DE/IR007_1.mat")) GTEST_SKIP() << "no shared CWRU data";
  const std::string dir = ::testing::TempDir() + "/cwru_eval_test";
  std::filesystem::remove_all(dir);
  EvalOptions o;
  o.data_dir = kCwru;
  o.only = "_1";  // load 1: B007_1, B014_1, IR007_1, IR021_1, OR007@6_1, OR014@6_1, OR021@6_1
  o.report_path = dir + "/cwru.json";
  auto res = run_cwru_eval(o, registry());
  ASSERT_TRUE(res.ok()) << res.error().message;
  EXPECT_EQ(
      res->summary_json,
      R"({"dataset":"cwru","recordings":7,"detected":7,"healthy_windows":11,"false_alarms":0,"defects_named":6})");
  auto text = read_file(o.report_path);
  ASSERT_TRUE(text.ok());
  const auto report = nlohmann::json::parse(*text);
  ASSERT_EQ(report["per_recording"].size(), 8u);
  const char* named[] = {"outer race", "ball", "inner race", "inner race", "outer race", "outer race", "outer race"};
  const bool correct[] = {false, true, true, true, true, true, true};
  for (std::size_t i = 0; i < 7; ++i) {
    const auto& r = report["per_recording"][i];
    EXPECT_EQ(r["named"], named[i]) << r["recording"];
    EXPECT_EQ(r["correct"], correct[i]) << r["recording"];
    EXPECT_EQ(r["alarm"], true) << r["recording"];
    EXPECT_EQ(r["alerts_raised"], 1) << r["recording"];
    // Every window of the recording: the rule holds from the third (for: 3).
    EXPECT_EQ(r["alarm_windows"].get<int>(), r["windows"].get<int>() - 2) << r["recording"];
    EXPECT_TRUE(std::filesystem::exists(dir + "/" + r["plot"].get<std::string>()));
  }
  const auto& healthy = report["per_recording"][7];
  EXPECT_EQ(healthy["healthy"], true);
  EXPECT_EQ(healthy["windows"], 11);
  EXPECT_EQ(healthy["alarm"], false);
  EXPECT_LT(healthy["max_score"].get<double>(), 0.9);
  EXPECT_EQ(report["baseline"]["decimation"], 4);
  EXPECT_NE(res->text.find("inner race 2/2, outer race 3/3, ball 1/2: B014_1"), std::string::npos) << res->text;
}

TEST(Cwru, TheProtocolNeedsADurationWarmupAndMaxGap) {
  if (!std::filesystem::exists(kCwru + "/12k_DE/IR007_1.mat")) GTEST_SKIP() << "no shared CWRU data";
  const std::string dir = ::testing::TempDir() + "/cwru_config_test";
  std::filesystem::create_directories(dir);
  const auto run_with = [&](const std::string& steps) {
    const std::string path = dir + "/c.yaml";
    EXPECT_TRUE(write_file_atomic(path,
                                  "sources:\n  s: {type: inproc, fields: [rpm]}\npipelines:\n  p:\n    from: s\n"
                                  "    steps:\n" +
                                      steps + "runtime: {shards: 1}\n")
                    .ok());
    EvalOptions o;
    o.data_dir = kCwru;
    o.only = "IR007_1";
    o.config_path = path;
    return run_cwru_eval(o, registry());
  };
  auto count = run_with(
      "      - samples: {size: 4096, hop: 1024, max_gap: 10ms}\n      - features: [rms]\n"
      "      - detect: {method: mahalanobis, warmup: 10}\n");
  ASSERT_FALSE(count.ok());
  EXPECT_NE(count.error().message.find("as a duration"), std::string::npos) << count.error().message;
  auto no_gap = run_with(
      "      - samples: {size: 4096, hop: 1024}\n      - features: [rms]\n"
      "      - detect: {method: mahalanobis, warmup: 2s}\n");
  ASSERT_FALSE(no_gap.ok());
  EXPECT_NE(no_gap.error().message.find("max_gap"), std::string::npos) << no_gap.error().message;
  // A warm-up longer than the baseline is cut to leave one window held out; a window longer than
  // half the baseline leaves nothing to split.
  auto long_window = run_with(
      "      - samples: {size: 2000000, hop: 1024, max_gap: 10ms}\n      - features: [rms]\n"
      "      - detect: {method: mahalanobis, warmup: 2s}\n");
  ASSERT_FALSE(long_window.ok());
  EXPECT_NE(long_window.error().message.find("the healthy baseline must hold two windows (2000000 samples each"),
            std::string::npos)
      << long_window.error().message;
  auto no_envelope = run_with(
      "      - samples: {size: 4096, hop: 1024, max_gap: 10ms}\n      - features: [rms]\n"
      "      - detect: {method: mahalanobis, warmup: 2s}\n");
  ASSERT_FALSE(no_envelope.ok());
  EXPECT_NE(no_envelope.error().message.find("'bpfo'"), std::string::npos) << no_envelope.error().message;
}

}  // namespace
}  // namespace edgeloop::eval
