#include <gtest/gtest.h>

#include <cmath>

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
constexpr int64_t kMs = 1'000'000;

std::unique_ptr<Stage> build(const ConfigNode& node, Metrics* m = nullptr) {
  auto s = make_stage("window", node, kV, m);
  EXPECT_TRUE(s.ok()) << s.error().message;
  return s.ok() ? std::move(*s) : nullptr;
}

std::vector<double> fields(const Record& r) { return std::vector<double>(r.f.begin(), r.f.begin() + r.nfields); }

TEST(TimeWindow, TumblingClosesOnTheFirstReadingAtOrPastItsEnd) {
  auto w = build(options_node({{"duration", "10s"}, {"aggregates", Strs{"count", "mean", "first", "last"}}}));
  Collect out;
  w->process(rec(0, 1 * kSec, {1}), out);
  w->process(rec(0, 5 * kSec, {2}), out);
  w->process(rec(0, 10 * kSec - 1, {3}), out);  // the last ns of [0, 10s)
  EXPECT_TRUE(out.records.empty());
  w->process(rec(0, 10 * kSec, {4}), out);  // belongs to [10s, 20s), closes [0, 10s)
  ASSERT_EQ(out.records.size(), 1u);
  EXPECT_EQ(fields(out.records[0]), (std::vector<double>{3, 2, 1, 3}));
  EXPECT_EQ(out.records[0].ts_ns, 10 * kSec - 1);
  EXPECT_EQ(out.records[0].recv_ns, 10 * kSec - 1 + 7);
  EXPECT_EQ(out.records[0].key, 100u);
  EXPECT_EQ(out.records[0].source, 2);
  w->process(rec(0, 15 * kSec, {5}), out);
  w->process(rec(0, 19 * kSec, {6}), out);
  w->process(rec(0, 20 * kSec, {7}), out);
  ASSERT_EQ(out.records.size(), 2u);
  EXPECT_EQ(fields(out.records[1]), (std::vector<double>{3, 5, 4, 6}));
  EXPECT_EQ(out.records[1].ts_ns, 19 * kSec);
}

TEST(TimeWindow, WindowsAreAlignedToTheEpochBeforeItToo) {
  auto w = build(options_node({{"duration", "10s"}, {"aggregates", Strs{"sum"}}}));
  Collect out;
  w->process(rec(0, -3 * kSec, {1}), out);   // [-10s, 0)
  w->process(rec(0, -1, {2}), out);          // [-10s, 0)
  w->process(rec(0, 0, {4}), out);           // [0, 10s): closes [-10s, 0)
  ASSERT_EQ(out.records.size(), 1u);
  EXPECT_EQ(out.records[0].f[0], 3);
  EXPECT_EQ(out.records[0].ts_ns, -1);
}

TEST(TimeWindow, SlidingWindowsLateReadingsAndQuietStretches) {
  Metrics m;
  auto w = build(options_node({{"duration", "10s"}, {"hop", "5s"}, {"aggregates", Strs{"count", "sum", "first", "last"}}}), &m);
  Collect out;
  w->process(rec(0, 1 * kSec, {1}), out);   // windows [-5, 5) and [0, 10)
  w->process(rec(0, 4 * kSec, {2}), out);
  EXPECT_TRUE(out.records.empty());
  w->process(rec(0, 6 * kSec, {4}), out);   // closes [-5, 5)
  ASSERT_EQ(out.records.size(), 1u);
  EXPECT_EQ(fields(out.records[0]), (std::vector<double>{2, 3, 1, 2}));
  EXPECT_EQ(out.records[0].ts_ns, 4 * kSec);
  w->process(rec(0, 12 * kSec, {8}), out);  // closes [0, 10)
  ASSERT_EQ(out.records.size(), 2u);
  EXPECT_EQ(fields(out.records[1]), (std::vector<double>{3, 7, 1, 4}));
  EXPECT_EQ(out.records[1].ts_ns, 6 * kSec);
  w->process(rec(0, 14 * kSec, {16}), out);
  // 31 s closes [5, 15) and [10, 20); [15, 25) and [20, 30) hold nothing and are skipped.
  w->process(rec(0, 31 * kSec, {32}), out);
  ASSERT_EQ(out.records.size(), 4u);
  EXPECT_EQ(fields(out.records[2]), (std::vector<double>{3, 28, 4, 16}));
  EXPECT_EQ(fields(out.records[3]), (std::vector<double>{2, 24, 8, 16}));
  EXPECT_EQ(out.records[3].ts_ns, 14 * kSec);
  // The oldest open window is now [25, 35): 24 s is late, 26 s (out of order) is not.
  w->process(rec(0, 24 * kSec, {1000}), out);
  w->process(rec(0, 26 * kSec, {64}), out);
  EXPECT_EQ(m.value("edgeloop_stage_late_total", {{"pipeline", "p"}, {"stage", "0:window"}}), 1);
  w->process(rec(0, 40 * kSec, {0}), out);  // closes [25, 35) and [30, 40)
  ASSERT_EQ(out.records.size(), 6u);
  EXPECT_EQ(fields(out.records[4]), (std::vector<double>{2, 96, 64, 32}));  // first/last by event time
  EXPECT_EQ(out.records[4].ts_ns, 31 * kSec);
  EXPECT_EQ(out.records[4].recv_ns, 31 * kSec + 7);
  EXPECT_EQ(fields(out.records[5]), (std::vector<double>{1, 32, 32, 32}));
}

TEST(TimeWindow, AggregatesFollowEventTimeNotArrival) {
  auto w = build(options_node({{"duration", "10s"}, {"aggregates", Strs{"first", "last", "rate", "min", "max", "stddev", "mean"}}}));
  Collect out;
  w->process(rec(0, 5 * kSec, {50}), out);
  w->process(rec(0, 2 * kSec, {20}), out);
  w->process(rec(0, 8 * kSec, {80}), out);
  w->process(rec(0, 10 * kSec, {0}), out);
  ASSERT_EQ(out.records.size(), 1u);
  EXPECT_EQ(fields(out.records[0]), (std::vector<double>{20, 80, 10, 20, 80, 30, 50}));
  EXPECT_EQ(out.records[0].ts_ns, 8 * kSec);
}

TEST(TimeWindow, StddevMergesAcrossPanes) {
  // 10 s windows of 1 s panes: Welford states merged pane by pane.
  auto w = build(options_node({{"duration", "10s"}, {"hop", "1s"}, {"aggregates", Strs{"stddev", "count", "mean"}}}));
  Collect out;
  const double v[] = {1e9 + 1, 1e9 + 3, 1e9 + 2, 1e9 + 6};
  for (int i = 0; i < 4; ++i) w->process(rec(0, (2 * i) * kSec + 100 * kMs, {v[i]}), out);
  out.records.clear();
  // 10.1 s closes [-3, 7) ... [0, 10): each holds all four readings (0.1 s to 6.1 s).
  w->process(rec(0, 10 * kSec + 100 * kMs, {0}), out);
  ASSERT_EQ(out.records.size(), 4u);
  EXPECT_NEAR(out.records[3].f[0], std::sqrt(14.0 / 3.0), 1e-6);
  EXPECT_EQ(out.records[3].f[1], 4);
  EXPECT_EQ(out.records[3].f[2], 1e9 + 3);
  for (const auto& r : out.records) EXPECT_EQ(r.f[1], 4);
}

TEST(TimeWindow, HopLongerThanDurationLeavesGaps) {
  auto w = build(options_node({{"duration", "2s"}, {"hop", "5s"}, {"aggregates", Strs{"sum"}}}));
  Collect out;
  w->process(rec(0, 1 * kSec, {1}), out);   // [0, 2)
  w->process(rec(0, 3 * kSec, {2}), out);   // between windows: closes [0, 2), not counted anywhere
  w->process(rec(0, 6 * kSec, {4}), out);   // [5, 7)
  w->process(rec(0, 11 * kSec, {8}), out);  // [10, 12): closes [5, 7)
  w->process(rec(0, 20 * kSec, {16}), out);
  ASSERT_EQ(out.records.size(), 3u);
  EXPECT_EQ(out.records[0].f[0], 1);
  EXPECT_EQ(out.records[1].f[0], 4);
  EXPECT_EQ(out.records[2].f[0], 8);
}

TEST(TimeWindow, IdleCloseByTick) {
  Metrics m;
  auto w = build(options_node({{"duration", "10s"}, {"idle_close", "2s"}, {"aggregates", Strs{"count", "mean"}}}), &m);
  Collect out;
  w->process(rec(0, 3 * kSec, {1}), out);
  w->process(rec(0, 8 * kSec, {3}), out);
  w->process(rec(1, 4 * kSec, {10}), out);
  w->tick(12 * kSec - 1, out);  // 1 ns short of end + idle_close
  EXPECT_TRUE(out.records.empty());
  w->tick(12 * kSec, out);
  ASSERT_EQ(out.records.size(), 2u);
  EXPECT_EQ(fields(out.records[0]), (std::vector<double>{2, 2}));
  EXPECT_EQ(out.records[0].ts_ns, 8 * kSec);
  EXPECT_EQ(out.records[0].slot, 0u);
  EXPECT_EQ(out.records[0].key, 100u);
  EXPECT_EQ(out.records[0].source, 2);
  EXPECT_EQ(fields(out.records[1]), (std::vector<double>{1, 10}));
  EXPECT_EQ(out.records[1].slot, 1u);
  EXPECT_EQ(out.records[1].key, 101u);
  w->tick(13 * kSec, out);
  EXPECT_EQ(out.records.size(), 2u);
  // The window is gone: a reading for it is late; a newer one opens the next window.
  w->process(rec(0, 9 * kSec, {100}), out);
  EXPECT_EQ(m.value("edgeloop_stage_late_total", {{"pipeline", "p"}, {"stage", "0:window"}}), 1);
  w->process(rec(0, 12 * kSec, {5}), out);
  w->tick(22 * kSec, out);
  ASSERT_EQ(out.records.size(), 3u);
  EXPECT_EQ(fields(out.records[2]), (std::vector<double>{1, 5}));
}

TEST(TimeWindow, TickDoesNothingWithoutIdleClose) {
  auto w = build(options_node({{"duration", "1s"}}));
  Collect out;
  w->process(rec(0, 0, {1}), out);
  w->tick(1000 * kSec, out);
  EXPECT_TRUE(out.records.empty());
}

TEST(TimeWindow, KeysInterleavedKeepSeparateState) {
  auto w = build(options_node({{"duration", "1s"}, {"aggregates", Strs{"sum"}}}));
  Collect out;
  for (int i = 0; i < 4; ++i) {
    w->process(rec(0, i * 400 * kMs, {1}), out);        // 0, 0.4, 0.8 | 1.2
    w->process(rec(1, i * 400 * kMs + 1, {10}), out);
  }
  ASSERT_EQ(out.records.size(), 2u);
  EXPECT_EQ(out.records[0].slot, 0u);
  EXPECT_EQ(out.records[0].f[0], 3);
  EXPECT_EQ(out.records[1].slot, 1u);
  EXPECT_EQ(out.records[1].f[0], 30);
}

TEST(TimeWindow, ConfigErrors) {
  auto err = [](const ConfigNode& n) {
    auto s = make_stage("window", n, kV);
    return s.ok() ? std::string("ok") : s.error().message;
  };
  EXPECT_NE(err(options_node({{"duration", "2h"}, {"hop", "1s"}})).find("7200 panes per window, more than 4096"),
            std::string::npos);
  EXPECT_NE(err(options_node({{"duration", "10s"}, {"hop", "fast"}})).find("a time window's hop is a duration"),
            std::string::npos);
  EXPECT_NE(err(options_node({{"duration", "10s"}, {"partial", "true"}})).find("for count windows"), std::string::npos);
  EXPECT_EQ(err(options_node({{"duration", "1h"}, {"hop", "1s"}})), "ok");
}

}  // namespace
}  // namespace edgeloop
