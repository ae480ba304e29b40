#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "operators/stage_harness.h"

namespace edgeloop {
namespace {

using testing::Collect;
using testing::kSec;
using testing::make_stage;
using testing::options_node;
using testing::rec;
using Strs = std::vector<std::string>;

const Schema kV({"v"});
const Schema kAB({"a", "b"});

std::unique_ptr<Stage> build(const ConfigNode& node, const Schema& input = kV) {
  auto s = make_stage("window", node, input);
  EXPECT_TRUE(s.ok()) << s.error().message;
  return s.ok() ? std::move(*s) : nullptr;
}

std::vector<double> fields(const Record& r) { return std::vector<double>(r.f.begin(), r.f.begin() + r.nfields); }

// Feeds values to slot 0, reading i at ts = i seconds.
Collect feed(Stage& st, const std::vector<double>& values) {
  Collect out;
  for (std::size_t i = 0; i < values.size(); ++i) st.process(rec(0, static_cast<int64_t>(i) * kSec, {values[i]}), out);
  return out;
}

TEST(CountWindow, EachAggregateOverATumblingWindow) {
  // 1, 3, 2, 6 at 0..3 s: mean 3, min 1, max 6, sum 12, count 4, stddev sqrt(14/3),
  // first 1, last 6, rate (6 - 1) / 3 s.
  auto a = build(options_node({{"size", "4"}, {"aggregates", Strs{"mean", "min", "max", "sum", "count"}}}));
  auto b = build(options_node({{"size", "4"}, {"aggregates", Strs{"stddev", "first", "last", "rate"}}}));
  EXPECT_EQ(a->output_schema().names(), (Strs{"mean", "min", "max", "sum", "count"}));
  EXPECT_EQ(b->output_schema().names(), (Strs{"stddev", "first", "last", "rate"}));
  Collect oa = feed(*a, {1, 3, 2, 6});
  Collect ob = feed(*b, {1, 3, 2, 6});
  ASSERT_EQ(oa.records.size(), 1u);
  ASSERT_EQ(ob.records.size(), 1u);
  EXPECT_EQ(fields(oa.records[0]), (std::vector<double>{3, 1, 6, 12, 4}));
  const auto vb = fields(ob.records[0]);
  ASSERT_EQ(vb.size(), 4u);
  EXPECT_DOUBLE_EQ(vb[0], std::sqrt(14.0 / 3.0));
  EXPECT_EQ(vb[1], 1);
  EXPECT_EQ(vb[2], 6);
  EXPECT_DOUBLE_EQ(vb[3], 5.0 / 3.0);
  // The output carries the completing reading's times and identity.
  EXPECT_EQ(oa.records[0].ts_ns, 3 * kSec);
  EXPECT_EQ(oa.records[0].recv_ns, 3 * kSec + 7);
  EXPECT_EQ(oa.records[0].key, 100u);
  EXPECT_EQ(oa.records[0].slot, 0u);
  EXPECT_EQ(oa.records[0].source, 2);
}

TEST(CountWindow, EachAggregateOverASlidingWindow) {
  // The same window reached by sliding: 9, 9 leave before 1, 3, 2, 6.
  auto a = build(options_node({{"size", "4"}, {"hop", "1"}, {"aggregates", Strs{"mean", "min", "max", "sum", "count"}}}));
  auto b = build(options_node({{"size", "4"}, {"hop", "1"}, {"aggregates", Strs{"stddev", "first", "last", "rate"}}}));
  Collect oa = feed(*a, {9, 9, 1, 3, 2, 6});
  Collect ob = feed(*b, {9, 9, 1, 3, 2, 6});
  ASSERT_EQ(oa.records.size(), 3u);
  EXPECT_EQ(fields(oa.records[0]), (std::vector<double>{5.5, 1, 9, 22, 4}));
  EXPECT_EQ(fields(oa.records[1]), (std::vector<double>{3.75, 1, 9, 15, 4}));
  EXPECT_EQ(fields(oa.records[2]), (std::vector<double>{3, 1, 6, 12, 4}));
  ASSERT_EQ(ob.records.size(), 3u);
  const auto vb = fields(ob.records[2]);
  EXPECT_NEAR(vb[0], std::sqrt(14.0 / 3.0), 1e-12);
  EXPECT_EQ(vb[1], 1);
  EXPECT_EQ(vb[2], 6);
  EXPECT_DOUBLE_EQ(vb[3], 5.0 / 3.0);
  EXPECT_EQ(oa.records[2].ts_ns, 5 * kSec);
}

TEST(CountWindow, TumblingVersusSliding) {
  auto tumbling = build(options_node({{"size", "3"}, {"aggregates", Strs{"sum"}}}));
  auto sliding = build(options_node({{"size", "3"}, {"hop", "1"}, {"aggregates", Strs{"sum"}}}));
  const std::vector<double> v{1, 2, 3, 4, 5, 6, 7};
  Collect t = feed(*tumbling, v);
  Collect s = feed(*sliding, v);
  ASSERT_EQ(t.records.size(), 2u);
  EXPECT_EQ(t.records[0].f[0], 6);
  EXPECT_EQ(t.records[0].ts_ns, 2 * kSec);
  EXPECT_EQ(t.records[1].f[0], 15);
  EXPECT_EQ(t.records[1].ts_ns, 5 * kSec);
  ASSERT_EQ(s.records.size(), 5u);
  for (std::size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(s.records[i].f[0], v[i] + v[i + 1] + v[i + 2]);
    EXPECT_EQ(s.records[i].ts_ns, static_cast<int64_t>(i + 2) * kSec);
  }
}

TEST(CountWindow, HoppingWindows) {
  // size 4 hop 2: windows end at readings 4, 6, 8.
  auto hopping = build(options_node({{"size", "4"}, {"hop", "2"}, {"aggregates", Strs{"sum"}}}));
  Collect h = feed(*hopping, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  ASSERT_EQ(h.records.size(), 3u);
  EXPECT_EQ(h.records[0].f[0], 10);
  EXPECT_EQ(h.records[1].f[0], 18);
  EXPECT_EQ(h.records[2].f[0], 26);
  // size 2 hop 5: windows of readings 1-2, 6-7; 3-5 and 8-10 fall between windows.
  auto gaps = build(options_node({{"size", "2"}, {"hop", "5"}, {"aggregates", Strs{"sum", "first"}}}));
  Collect g = feed(*gaps, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
  ASSERT_EQ(g.records.size(), 3u);
  EXPECT_EQ(fields(g.records[0]), (std::vector<double>{3, 1}));
  EXPECT_EQ(fields(g.records[1]), (std::vector<double>{13, 6}));
  EXPECT_EQ(fields(g.records[2]), (std::vector<double>{23, 11}));
  EXPECT_EQ(g.records[1].ts_ns, 6 * kSec);
}

TEST(CountWindow, PartialEmitsBeforeTheWindowIsFull) {
  auto strict = build(options_node({{"size", "4"}, {"hop", "1"}, {"aggregates", Strs{"count", "mean"}}}));
  auto partial = build(options_node({{"size", "4"}, {"hop", "1"}, {"partial", "true"}, {"aggregates", Strs{"count", "mean"}}}));
  Collect s = feed(*strict, {2, 4, 6, 8, 10});
  Collect p = feed(*partial, {2, 4, 6, 8, 10});
  ASSERT_EQ(s.records.size(), 2u);
  EXPECT_EQ(fields(s.records[0]), (std::vector<double>{4, 5}));
  ASSERT_EQ(p.records.size(), 5u);
  EXPECT_EQ(fields(p.records[0]), (std::vector<double>{1, 2}));
  EXPECT_EQ(fields(p.records[1]), (std::vector<double>{2, 3}));
  EXPECT_EQ(fields(p.records[2]), (std::vector<double>{3, 4}));
  EXPECT_EQ(fields(p.records[3]), (std::vector<double>{4, 5}));
  EXPECT_EQ(fields(p.records[4]), (std::vector<double>{4, 7}));
  // size 10 hop 3 partial: on the grid of the first full window, readings 1, 4, 7, 10, 13.
  auto grid = build(options_node({{"size", "10"}, {"hop", "3"}, {"partial", "true"}, {"aggregates", Strs{"count"}}}));
  Collect g = feed(*grid, std::vector<double>(13, 1.0));
  ASSERT_EQ(g.records.size(), 5u);
  std::vector<int64_t> ts;
  for (const auto& r : g.records) ts.push_back(r.ts_ns / kSec);
  EXPECT_EQ(ts, (std::vector<int64_t>{0, 3, 6, 9, 12}));
  EXPECT_EQ(g.records[0].f[0], 1);
  EXPECT_EQ(g.records[3].f[0], 10);
}

TEST(CountWindow, KeysInterleavedKeepSeparateState) {
  auto w = build(options_node({{"size", "2"}, {"hop", "1"}, {"aggregates", Strs{"mean"}}}));
  Collect out;
  // slot 0: 10, 20, 30; slot 1: 1, 2, 3; slot 5 (a gap in slots): 7
  w->process(rec(0, 1, {10}), out);
  w->process(rec(1, 2, {1}), out);
  w->process(rec(5, 3, {7}), out);
  w->process(rec(0, 4, {20}), out);
  w->process(rec(1, 5, {2}), out);
  w->process(rec(0, 6, {30}), out);
  w->process(rec(1, 7, {3}), out);
  ASSERT_EQ(out.records.size(), 4u);
  EXPECT_EQ(out.records[0].slot, 0u);
  EXPECT_EQ(out.records[0].f[0], 15);
  EXPECT_EQ(out.records[1].slot, 1u);
  EXPECT_EQ(out.records[1].key, 101u);
  EXPECT_EQ(out.records[1].f[0], 1.5);
  EXPECT_EQ(out.records[2].f[0], 25);
  EXPECT_EQ(out.records[3].f[0], 2.5);
  EXPECT_EQ(out.records[3].ts_ns, 7);
}

TEST(CountWindow, SeveralFieldsNameTheirOutputs) {
  auto w = build(options_node({{"size", "2"}, {"fields", Strs{"b", "a"}}, {"aggregates", Strs{"max", "min"}}}), kAB);
  EXPECT_EQ(w->output_schema().names(), (Strs{"b_max", "b_min", "a_max", "a_min"}));
  Collect out;
  w->process(rec(0, 1, {1, 10}), out);
  w->process(rec(0, 2, {2, 20}), out);
  ASSERT_EQ(out.records.size(), 1u);
  EXPECT_EQ(fields(out.records[0]), (std::vector<double>{20, 10, 2, 1}));
  // `field` picks one; the default is the first input field.
  auto one = build(options_node({{"size", "1"}, {"field", "b"}}), kAB);
  EXPECT_EQ(one->output_schema().names(), (Strs{"mean"}));
  Collect o1;
  one->process(rec(0, 1, {1, 10}), o1);
  EXPECT_EQ(o1.records.at(0).f[0], 10);
  auto dflt = build(options_node({{"size", "1"}}), kAB);
  Collect o2;
  dflt->process(rec(0, 1, {1, 10}), o2);
  EXPECT_EQ(o2.records.at(0).f[0], 1);
}

TEST(CountWindow, NaNStaysInTheWindowItFallsIn) {
  auto w = build(options_node({{"size", "3"}, {"hop", "1"}, {"aggregates", Strs{"sum", "min", "max", "stddev"}}}));
  const double nan = std::nan("");
  Collect out = feed(*w, {1, 2, nan, 4, 5, 6});
  ASSERT_EQ(out.records.size(), 4u);
  for (std::size_t i = 0; i < 3; ++i) {  // windows holding the NaN
    EXPECT_TRUE(std::isnan(out.records[i].f[0])) << i;
    EXPECT_TRUE(std::isnan(out.records[i].f[3])) << i;
  }
  EXPECT_EQ(out.records[0].f[1], 1);  // min and max skip the NaN
  EXPECT_EQ(out.records[0].f[2], 2);
  EXPECT_EQ(out.records[2].f[1], 4);
  EXPECT_EQ(out.records[2].f[2], 5);
  EXPECT_EQ(out.records[3].f[0], 15);  // exact again once it has left
  EXPECT_EQ(out.records[3].f[1], 4);
  EXPECT_EQ(out.records[3].f[2], 6);
  EXPECT_DOUBLE_EQ(out.records[3].f[3], 1.0);
}

// Every aggregate of a sliding window against a direct computation over a long random stream
// (long enough for the periodic recomputation of the running sums to run many times).
TEST(CountWindow, SlidingMatchesDirectComputation) {
  for (int hop : {1, 2, 3}) {
    const std::size_t size = 7;
    auto a = build(options_node({{"size", "7"}, {"hop", std::to_string(hop)}, {"aggregates", Strs{"mean", "min", "max", "sum", "count"}}}));
    auto b = build(options_node({{"size", "7"}, {"hop", std::to_string(hop)}, {"aggregates", Strs{"stddev", "first", "last", "rate"}}}));
    std::mt19937_64 rng(42 + hop);
    std::uniform_real_distribution<double> dist(-1000.0, 1000.0);
    std::vector<double> v(2000);
    for (auto& x : v) x = 1e6 + dist(rng);  // large offset: cancellation in the variance
    Collect oa = feed(*a, v);
    Collect ob = feed(*b, v);
    ASSERT_EQ(oa.records.size(), (v.size() - size) / static_cast<std::size_t>(hop) + 1);
    ASSERT_EQ(ob.records.size(), oa.records.size());
    for (std::size_t e = 0; e < oa.records.size(); ++e) {
      const std::size_t end = size + e * static_cast<std::size_t>(hop);  // one past the last reading
      double sum = 0, mn = INFINITY, mx = -INFINITY;
      for (std::size_t i = end - size; i < end; ++i) {
        sum += v[i];
        mn = std::min(mn, v[i]);
        mx = std::max(mx, v[i]);
      }
      const double mean = sum / size;
      double q = 0;
      for (std::size_t i = end - size; i < end; ++i) q += (v[i] - mean) * (v[i] - mean);
      const Record& ra = oa.records[e];
      const Record& rb = ob.records[e];
      EXPECT_NEAR(ra.f[0], mean, 1e-9 * std::fabs(mean));
      EXPECT_EQ(ra.f[1], mn);
      EXPECT_EQ(ra.f[2], mx);
      EXPECT_NEAR(ra.f[3], sum, 1e-9 * std::fabs(sum));
      EXPECT_EQ(ra.f[4], 7);
      EXPECT_NEAR(rb.f[0], std::sqrt(q / (size - 1)), 1e-6);
      EXPECT_EQ(rb.f[1], v[end - size]);
      EXPECT_EQ(rb.f[2], v[end - 1]);
      EXPECT_NEAR(rb.f[3], (v[end - 1] - v[end - size]) / static_cast<double>(size - 1), 1e-9);
      EXPECT_EQ(ra.ts_ns, static_cast<int64_t>(end - 1) * kSec);
    }
  }
}

TEST(CountWindow, ConfigErrorsSayWhatIsWrong) {
  auto err = [](const ConfigNode& n, const Schema& in = kV) {
    auto s = make_stage("window", n, in);
    return s.ok() ? std::string("ok") : s.error().message;
  };
  EXPECT_NE(err(options_node({})).find("missing `size` (a count window) or `duration` (a time window)"), std::string::npos);
  EXPECT_NE(err(options_node({{"size", "3"}, {"duration", "1s"}})).find("not both"), std::string::npos);
  EXPECT_EQ(err(options_node({{"size", "3"}, {"field", "x"}}), kAB),
            "test.yaml:3:5: pipelines.p.steps[0].window.field: unknown field 'x' (input fields: a, b)");
  EXPECT_NE(err(options_node({{"size", "3"}, {"aggregates", Strs{"median"}}})).find("unknown aggregate 'median'"), std::string::npos);
  EXPECT_NE(err(options_node({{"size", "3"}, {"hop", "0"}})).find("a count window's hop is a whole number"), std::string::npos);
  EXPECT_NE(err(options_node({{"size", "3"}, {"hop", "1s"}})).find("a count window's hop"), std::string::npos);
  EXPECT_NE(err(options_node({{"size", "3"}, {"fields", Strs{"a", "b"}},
                              {"aggregates", Strs{"mean", "min", "max", "sum", "count", "stddev", "first", "last", "rate"}}}), kAB)
                .find("2 fields x 9 aggregates = 18 outputs"),
            std::string::npos);
  EXPECT_NE(err(options_node({{"size", "0"}})).find("out of range"), std::string::npos);
  EXPECT_NE(err(options_node({{"size", "3"}, {"idle_close", "1s"}})).find("for time windows"), std::string::npos);
  EXPECT_NE(err(options_node({{"size", "3"}, {"aggregates", Strs{"mean", "mean"}}})).find("listed twice"), std::string::npos);
}

TEST(CountWindow, ShorthandIsTheSize) {
  auto s = make_stage("window", ConfigNode::scalar("2", testing::test_mark()), kV);
  ASSERT_TRUE(s.ok()) << s.error().message;
  Collect out = feed(**s, {1, 2, 3, 4});
  ASSERT_EQ(out.records.size(), 2u);
  EXPECT_EQ(out.records[1].f[0], 3.5);
}

}  // namespace
}  // namespace edgeloop
