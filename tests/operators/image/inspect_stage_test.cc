// op.inspect: p_defect from probabilities and logits, the threshold, one event per failing
// image (back to back on one key), the appended fields, late results against the budget.
#include "operators/image/inspect_stage.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "core/clock.h"
#include "operators/image/builtins.h"
#include "operators/stage_harness.h"

namespace edgeloop::testing {
namespace {

const Registry& image_registry() {
  static const Registry r = [] {
    Registry reg;
    register_image_operators(reg);
    return reg;
  }();
  return r;
}

const Schema kInput({"width", "height", "p_free", "p_crack", "p_blowhole"});

Record image(double p_free, double p_crack, double p_blowhole, int64_t recv_ns, KeyId key = 7) {
  Record r;
  r.key = key;
  r.recv_ns = recv_ns;
  r.ts_ns = 1000;
  r.nfields = 5;
  r.f[0] = 320;
  r.f[1] = 200;
  r.f[2] = p_free;
  r.f[3] = p_crack;
  r.f[4] = p_blowhole;
  return r;
}

TEST(DefectProbability, ProbabilitiesAndLogits) {
  const double probs[3] = {0.7, 0.2, 0.1};
  EXPECT_NEAR(defect_probability(probs, 3, 0, InspectConfig::Scores::kAuto), 0.3, 1e-12);
  EXPECT_NEAR(defect_probability(probs, 3, 1, InspectConfig::Scores::kProbabilities), 0.8, 1e-12);
  const double logits[3] = {2.0, 0.0, -1.0};
  const double z = std::exp(2.0) + 1.0 + std::exp(-1.0);
  EXPECT_NEAR(defect_probability(logits, 3, 0, InspectConfig::Scores::kAuto), 1 - std::exp(2.0) / z, 1e-12);
  // Values in [0,1] that do not sum to 1 are logits too (auto).
  const double small[2] = {0.5, 0.1};
  EXPECT_NEAR(defect_probability(small, 2, 0, InspectConfig::Scores::kAuto),
              1 - std::exp(0.5) / (std::exp(0.5) + std::exp(0.1)), 1e-12);
  EXPECT_NEAR(defect_probability(probs, 3, 0, InspectConfig::Scores::kLogits),
              1 - std::exp(0.7) / (std::exp(0.7) + std::exp(0.2) + std::exp(0.1)), 1e-12);
  const double one[1] = {0.9};  // a binary model's P(pass)
  EXPECT_NEAR(defect_probability(one, 1, 0, InspectConfig::Scores::kAuto), 0.1, 1e-12);
  EXPECT_TRUE(std::isnan(defect_probability(probs, 3, 5, InspectConfig::Scores::kAuto)));
}

TEST(InspectStage, EveryFailingImageGetsItsCommandAndFieldsAreAppended) {
  Metrics m;
  auto s = make_stage_in(image_registry(), "inspect",
                         options_node({{"classes", std::vector<std::string>{"p_free", "p_crack", "p_blowhole"}},
                                       {"threshold", "0.4"}}),
                         kInput, &m, 2);
  ASSERT_TRUE(s.ok()) << s.error().message;
  const Schema& out_schema = (*s)->output_schema();
  ASSERT_EQ(out_schema.size(), 9U);
  EXPECT_EQ(out_schema.name(5), "p_defect");
  EXPECT_EQ(out_schema.name(6), "fail");
  EXPECT_EQ(out_schema.name(7), "latency_ms");
  EXPECT_EQ(out_schema.name(8), "late");
  Collect c;
  const int64_t now = unix_now_ns();
  (*s)->process(image(0.9, 0.05, 0.05, now), c);  // pass
  (*s)->process(image(0.3, 0.6, 0.1, now), c);    // fail
  (*s)->process(image(0.5, 0.1, 0.4, now), c);    // fail again, same key: a second command
  (*s)->process(image(0.6, 0.3, 0.1, now), c);    // p_defect 0.4: not above the threshold
  ASSERT_EQ(c.records.size(), 4U);
  ASSERT_EQ(c.events.size(), 2U);
  EXPECT_NEAR(c.records[0].f[5], 0.1, 1e-12);
  EXPECT_EQ(c.records[0].f[6], 0);
  EXPECT_EQ(c.records[1].f[6], 1);
  EXPECT_EQ(c.records[3].f[6], 0);
  EXPECT_EQ(c.records[1].nfields, 9);
  EXPECT_GE(c.records[1].f[7], 0);
  EXPECT_LT(c.records[1].f[7], 10000);
  EXPECT_EQ(c.records[1].f[8], 0);  // no budget: never late
  const Event& e = c.events[0];
  EXPECT_EQ(e.kind, EventKind::kCommand);
  EXPECT_EQ(e.key, 7U);
  EXPECT_EQ(e.stage, 2);
  EXPECT_EQ(e.pipeline, 3);
  EXPECT_EQ(*e.name, "inspect");
  EXPECT_EQ(e.schema->name(5), "p_defect");
  EXPECT_NEAR(e.f[5], 0.7, 1e-12);
  EXPECT_EQ(e.recv_ns, now);
  EXPECT_NEAR(c.events[1].f[5], 0.5, 1e-12);
  EXPECT_EQ(m.value("edgeloop_inspection_images_total", {{"pipeline", "p"}, {"result", "pass"}}), 2);
  EXPECT_EQ(m.value("edgeloop_inspection_images_total", {{"pipeline", "p"}, {"result", "fail"}}), 2);
  EXPECT_EQ(m.find_histogram("edgeloop_inspection_latency_seconds", {{"pipeline", "p"}})->count(), 4U);
}

TEST(InspectStage, LateResultsAreCountedAgainstTheBudget) {
  Metrics m;
  auto s = make_stage_in(image_registry(), "inspect",
                         options_node({{"classes", std::vector<std::string>{"p_free", "p_crack", "p_blowhole"}},
                                       {"budget", "40ms"},
                                       {"emit", "all"},
                                       {"kind", "alert"}}),
                         kInput, &m);
  ASSERT_TRUE(s.ok()) << s.error().message;
  Collect c;
  const int64_t now = unix_now_ns();
  (*s)->process(image(0.9, 0.05, 0.05, now - 100 * kNsPerMs), c);  // received 100 ms ago: late
  (*s)->process(image(0.1, 0.8, 0.1, now), c);                      // in time
  ASSERT_EQ(c.records.size(), 2U);
  EXPECT_EQ(c.records[0].f[8], 1);
  EXPECT_GE(c.records[0].f[7], 100);
  EXPECT_EQ(c.records[1].f[8], 0);
  EXPECT_EQ(m.value("edgeloop_inspection_late_total", {{"pipeline", "p"}}), 1);
  ASSERT_EQ(c.events.size(), 2U);
  EXPECT_EQ(c.events[0].kind, EventKind::kInsight);  // emit: all: a pass is an insight
  EXPECT_EQ(c.events[1].kind, EventKind::kAlert);
  EXPECT_EQ(c.events[1].state, AlertState::kRaised);
}

TEST(InspectStage, ConfigErrorsNameWhatIsWrong) {
  auto s = make_stage_in(image_registry(), "inspect",
                         options_node({{"classes", std::vector<std::string>{"p_free", "p_rust"}}}), kInput);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("no field 'p_rust' in the input (it has: width, height, p_free, p_crack, p_blowhole)"),
            std::string::npos)
      << s.error().message;
  s = make_stage_in(image_registry(), "inspect",
                    options_node({{"classes", std::vector<std::string>{"p_free", "p_crack"}}, {"pass", "p_ok"}}), kInput);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("'p_ok' is not one of `classes`"), std::string::npos) << s.error().message;
  s = make_stage_in(image_registry(), "inspect",
                    options_node({{"classes", std::vector<std::string>{"p_free", "p_crack"}}, {"pass", "p_crack"}}), kInput);
  ASSERT_TRUE(s.ok());
  Collect c;
  (*s)->process(image(0.2, 0.8, 0, 0), c);
  EXPECT_NEAR(c.records[0].f[5], 0.2, 1e-12);  // pass class p_crack: p_defect = 1 - 0.8
}

TEST(InspectStage, TakesClassesPassClassAndThresholdFromTheSidecar) {
  const std::string path = ::testing::TempDir() + "/inspect_sidecar.json";
  {
    std::ofstream f(path);
    f << R"({"classes":["p_crack","p_free","p_blowhole"],"pass_class":"p_free","threshold":0.8})";
  }
  auto s = make_stage_in(image_registry(), "inspect", options_node({{"sidecar", path}}), kInput);
  ASSERT_TRUE(s.ok()) << s.error().message;
  Collect c;
  (*s)->process(image(0.75, 0.2, 0.05, 0), c);  // P(p_free) 0.75 < 0.8: fails
  (*s)->process(image(0.85, 0.1, 0.05, 0), c);  // passes
  ASSERT_EQ(c.records.size(), 2U);
  EXPECT_NEAR(c.records[0].f[5], 0.25, 1e-12);
  EXPECT_EQ(c.records[0].f[6], 1);
  EXPECT_EQ(c.records[1].f[6], 0);
  EXPECT_EQ(c.events.size(), 1U);
  s = make_stage_in(image_registry(), "inspect", options_node({{"sidecar", path + ".missing"}}), kInput);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("cannot read the model sidecar"), std::string::npos) << s.error().message;
}

}  // namespace
}  // namespace edgeloop::testing
