#include <gtest/gtest.h>

#include "operators/stage_harness.h"
#include "rules/rule_stage.h"

namespace edgeloop {
namespace {

using testing::Collect;
using testing::kSec;
using testing::make_stage;
using testing::options_node;
using testing::rec;

const Schema kMean({"mean", "max"});

std::unique_ptr<Stage> build(const ConfigNode& node, Metrics* m = nullptr) {
  auto s = make_stage("rule", node, kMean, m, 4);
  EXPECT_TRUE(s.ok()) << s.error().message;
  return s.ok() ? std::move(*s) : nullptr;
}

// Feeds means to slot 0 (reading i at i seconds) and returns "R<i>" / "C<i>" per event.
std::string run(Stage& st, const std::vector<double>& means, Collect* keep = nullptr) {
  Collect out;
  std::string s;
  for (std::size_t i = 0; i < means.size(); ++i) {
    const std::size_t before = out.events.size();
    st.process(rec(0, static_cast<int64_t>(i) * kSec, {means[i], 0}), out);
    for (std::size_t e = before; e < out.events.size(); ++e) {
      s += (s.empty() ? "" : " ") + std::string(out.events[e].state == AlertState::kRaised ? "R" : "C") + std::to_string(i);
    }
  }
  EXPECT_EQ(out.records.size(), means.size());  // every record passes through
  if (keep) *keep = std::move(out);
  return s;
}

TEST(Rule, HysteresisRaisesOnceAndReArmsBelowTheClearThreshold) {
  auto r = build(options_node({{"when", "mean > 80"}, {"clear", "mean < 75"}}));
  //              0   1   2   3   4   5   6   7   8   9
  EXPECT_EQ(run(*r, {70, 81, 90, 78, 85, 76, 74, 79, 81, 82}), "R1 C6 R8");
}

TEST(Rule, DefaultClearIsNotWhen) {
  auto r = build(options_node({{"when", "mean > 80"}}));
  EXPECT_EQ(run(*r, {81, 82, 80, 81, 70, 90}), "R0 C2 R3 C4 R5");
}

TEST(Rule, NoClearedEventsWhenDisabledButStillReArms) {
  auto r = build(options_node({{"when", "mean > 80"}, {"emit_cleared", "false"}}));
  EXPECT_EQ(run(*r, {81, 82, 80, 81}), "R0 R3");
}

TEST(Rule, ForCountsConsecutiveRecords) {
  auto r = build(options_node({{"when", "mean > 80"}, {"for", "3"}}));
  //              0   1   2   3   4   5   6   7   8   9
  EXPECT_EQ(run(*r, {81, 81, 70, 81, 81, 81, 81, 70, 81, 81}), "R5 C7");
}

TEST(Rule, ForADurationOfEventTime) {
  // when must hold on every record for 3 s: from its first true record at t0, raise on the first
  // record at t >= t0 + 3 s.
  auto r = build(options_node({{"when", "mean > 80"}, {"for", "3s"}}));
  //              0   1   2   3   4   5   6   7   8   9
  EXPECT_EQ(run(*r, {81, 81, 81, 70, 81, 81, 81, 81, 81, 70}), "R7 C9");
  auto sparse = build(options_node({{"when", "mean > 80"}, {"for", "2500ms"}}));
  Collect out;
  sparse->process(rec(0, 0, {90, 0}), out);
  sparse->process(rec(0, 2 * kSec, {90, 0}), out);
  EXPECT_TRUE(out.events.empty());
  sparse->process(rec(0, 5 * kSec, {90, 0}), out);  // held since 0 s, 5 s >= 2.5 s
  ASSERT_EQ(out.events.size(), 1u);
  EXPECT_EQ(out.events[0].ts_ns, 5 * kSec);
}

TEST(Rule, CooldownDelaysTheNextRaiseWhileWhenStillHolds) {
  auto r = build(options_node({{"when", "mean > 80"}, {"cooldown", "5s"}}));
  // Raise at 0; clear at 1; when holds again from 2 but the cooldown lasts until 5: raise at 5.
  //              0   1   2   3   4   5   6   7
  EXPECT_EQ(run(*r, {81, 70, 81, 81, 81, 81, 70, 81}), "R0 C1 R5 C6");
}

TEST(Rule, CooldownWithFor) {
  auto r = build(options_node({{"when", "mean > 80"}, {"for", "2"}, {"cooldown", "4s"}}));
  // R1 (2 records); C2; `for` is met again at 4 but the cooldown (from 1) lasts until 5: R5;
  // C6; `for` is met at 8, the cooldown (from 5) lasts until 9: R9.
  //              0   1   2   3   4   5   6   7   8   9
  EXPECT_EQ(run(*r, {81, 81, 70, 81, 81, 81, 70, 81, 81, 81}), "R1 C2 R5 C6 R9");
}

TEST(Rule, EventCarriesTheFiringRecord) {
  Metrics m;
  auto r = build(options_node({{"name", "overheat"}, {"when", "max > 100"}, {"severity", "critical"}}), &m);
  Collect out;
  Record in = rec(7, 42 * kSec, {90.5, 120});
  r->process(in, out);
  r->process(rec(7, 43 * kSec, {90.5, 99}), out);
  ASSERT_EQ(out.events.size(), 2u);
  const Event& e = out.events[0];
  EXPECT_EQ(e.kind, EventKind::kAlert);
  EXPECT_EQ(e.state, AlertState::kRaised);
  EXPECT_EQ(e.ts_ns, 42 * kSec);
  EXPECT_EQ(e.recv_ns, 42 * kSec + 7);
  EXPECT_EQ(e.key, 107u);
  EXPECT_EQ(e.nfields, 2);
  EXPECT_EQ(e.f[0], 90.5);
  EXPECT_EQ(e.f[1], 120);
  EXPECT_EQ(e.schema, &kMean);
  ASSERT_NE(e.name, nullptr);
  EXPECT_EQ(*e.name, "overheat");
  EXPECT_EQ(e.pipeline_name, testing::pipeline_name());
  EXPECT_EQ(e.pipeline, 3);
  EXPECT_EQ(e.stage, 4);
  EXPECT_EQ(out.events[1].state, AlertState::kCleared);
  EXPECT_EQ(out.events[1].ts_ns, 43 * kSec);
  EXPECT_EQ(out.events[1].f[1], 99);
  // Records pass unchanged.
  ASSERT_EQ(out.records.size(), 2u);
  EXPECT_EQ(out.records[0].f, in.f);
  EXPECT_EQ(out.records[0].ts_ns, in.ts_ns);
  EXPECT_EQ(out.records[0].slot, 7u);
  EXPECT_EQ(m.value("edgeloop_rule_raised_total", {{"pipeline", "p"}, {"rule", "overheat"}}), 1);
  EXPECT_EQ(m.value("edgeloop_rule_cleared_total", {{"pipeline", "p"}, {"rule", "overheat"}}), 1);
  const auto& cfg = static_cast<const RuleStage&>(*r).config();
  EXPECT_EQ(cfg.severity, Severity::kCritical);
  EXPECT_EQ(r->output_schema().names(), kMean.names());
}

TEST(Rule, KeysAreIndependent) {
  auto r = build(options_node({{"when", "mean > 80"}, {"for", "2"}}));
  Collect out;
  r->process(rec(0, 1, {90, 0}), out);
  r->process(rec(1, 2, {90, 0}), out);
  r->process(rec(0, 3, {90, 0}), out);  // slot 0: 2nd in a row
  r->process(rec(1, 4, {10, 0}), out);  // slot 1 breaks its run
  r->process(rec(1, 5, {90, 0}), out);
  ASSERT_EQ(out.events.size(), 1u);
  EXPECT_EQ(out.events[0].key, 100u);
  EXPECT_EQ(out.events[0].ts_ns, 3);
  EXPECT_TRUE(static_cast<const RuleStage&>(*r).raised(0));
  EXPECT_FALSE(static_cast<const RuleStage&>(*r).raised(1));
}

TEST(Rule, ShorthandIsWhen) {
  auto s = make_stage("rule", ConfigNode::scalar("mean > 1", testing::test_mark()), kMean);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(run(**s, {2, 0}), "R0 C1");
}

TEST(Rule, ConfigErrors) {
  auto err = [](const ConfigNode& n) {
    auto s = make_stage("rule", n, kMean);
    return s.ok() ? std::string("ok") : s.error().message;
  };
  EXPECT_EQ(err(options_node({{"when", "avg > 1"}})),
            "test.yaml:2:5: pipelines.p.steps[0].rule.when: in 'avg > 1' at column 1: unknown field 'avg' (fields: mean, max)");
  EXPECT_NE(err(options_node({{"when", "mean > 1"}, {"clear", "mean <"}})).find("rule.clear: in 'mean <' at column 7"),
            std::string::npos);
  EXPECT_NE(err(options_node({{"when", "mean > 1"}, {"for", "1.5"}})).find("not a whole number of records"), std::string::npos);
  EXPECT_NE(err(options_node({{"when", "mean > 1"}, {"for", "0"}})).find("between 1 and"), std::string::npos);
  EXPECT_NE(err(options_node({{"when", "mean > 1"}, {"for", "soon"}})).find("expected a count of records (3) or a duration"),
            std::string::npos);
  EXPECT_NE(err(options_node({{"when", "mean > 1"}, {"severity", "fatal"}})).find("'fatal' is not one of"), std::string::npos);
  EXPECT_NE(err(options_node({{"clear", "mean > 1"}})).find("missing required key 'when'"), std::string::npos);
  EXPECT_NE(err(options_node({{"when", "mean > 1"}, {"name", ""}})).find("cannot be empty"), std::string::npos);
}

TEST(Rule, ParseFor) {
  RuleConfig c;
  ASSERT_TRUE(parse_rule_for("3", c).ok());
  EXPECT_EQ(c.for_count, 3u);
  EXPECT_EQ(c.for_ns, -1);
  ASSERT_TRUE(parse_rule_for("1.5s", c).ok());
  EXPECT_EQ(c.for_ns, 1'500'000'000);
  ASSERT_TRUE(parse_rule_for("0s", c).ok());
  EXPECT_EQ(c.for_ns, 0);
}

}  // namespace
}  // namespace edgeloop
