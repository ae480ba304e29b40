#include "api/live_hub.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "api/live_routes.h"
#include "api/live_stage.h"
#include "api/pipeline_routes.h"

namespace edgeloop {
namespace {

struct CountingEmitter final : Emitter {
  void forward(const Record&) override { ++forwarded; }
  void emit(Event&&) override {}
  int forwarded = 0;
};

int64_t g_now = 0;
int64_t fake_clock() { return g_now; }

struct Fixture {
  Schema schema{{"rms", "peak"}};
  KeyTable keys;
  StageContext ctx;
  LiveBus bus;
  KeyId k0, k1;
  Fixture() {
    ctx.pipeline = "vib";
    ctx.name = "live";
    ctx.stage_index = 2;
    ctx.input = &schema;
    ctx.keys = &keys;
    k0 = *keys.intern("line1/pump-1", "t", 0);
    k1 = *keys.intern("line1/pump-2", "t", 0);
  }
  std::unique_ptr<LiveStage> stage(int64_t interval_ns, std::size_t ring = 64, const char* name = "features") {
    auto s = std::make_unique<LiveStage>(ctx, name, interval_ns, ring, bus);
    s->set_clock(&fake_clock);
    return s;
  }
};

Record rec(KeyId key, uint32_t slot, int64_t ts, double rms, double peak = 0) {
  Record r;
  r.key = key;
  r.slot = slot;
  r.ts_ns = ts;
  r.nfields = 2;
  r.f[0] = rms;
  r.f[1] = peak;
  return r;
}

std::size_t ring_size(LiveStage& s) { return s.channel()->ring.size_approx(); }

TEST(LiveStage, DecimatesPerKeyAndForwardsEveryRecord) {
  Fixture fx;
  auto st = fx.stage(100'000'000);  // 10 Hz
  CountingEmitter out;
  g_now = 1'000'000'000;
  for (int i = 0; i < 10; ++i) st->process(rec(fx.k0, 0, i, 0.1 * i), out);
  EXPECT_EQ(ring_size(*st), 1u);  // one per 100 ms per key
  st->process(rec(fx.k1, 1, 0, 1.0), out);
  EXPECT_EQ(ring_size(*st), 2u);  // another key has its own budget
  g_now += 99'999'999;
  st->process(rec(fx.k0, 0, 20, 2.0), out);
  EXPECT_EQ(ring_size(*st), 2u);
  g_now += 1;
  st->process(rec(fx.k0, 0, 21, 2.1), out);
  EXPECT_EQ(ring_size(*st), 3u);
  EXPECT_EQ(out.forwarded, 13);
  LiveReading r;
  ASSERT_TRUE(st->channel()->ring.try_pop(r));
  EXPECT_EQ(r.key, fx.k0);
  EXPECT_EQ(r.ts_ns, 0);
  EXPECT_EQ(st->channel()->pipeline, "vib");
  EXPECT_EQ(st->channel()->stage, "features");
  EXPECT_EQ(st->channel()->fields, (std::vector<std::string>{"rms", "peak"}));
}

TEST(LiveStage, RateZeroShowsEveryRecordAndAFullRingDropsAndCounts) {
  Fixture fx;
  auto st = fx.stage(0, 16);
  CountingEmitter out;
  for (int i = 0; i < 20; ++i) st->process(rec(fx.k0, 0, i, i), out);
  EXPECT_EQ(ring_size(*st), 16u);
  EXPECT_EQ(st->channel()->dropped.load(), 4u);
  EXPECT_EQ(out.forwarded, 20);

  Metrics metrics;
  LiveHub hub(LiveHubOptions{}, metrics, fx.bus);
  EXPECT_EQ(hub.poll_once(), 16u);
  EXPECT_EQ(metrics.value("edgeloop_live_stage_dropped_total"), 4);
  // The newest readings win the stream's last values: 0..15 passed, 16..19 were dropped.
  hub.with_state([&](const LiveState& s) {
    ASSERT_EQ(s.streams.size(), 1u);
    const LiveStream& stream = s.streams.begin()->second;
    EXPECT_EQ(stream.key, "line1/pump-1");
    EXPECT_EQ(stream.last_ts_ns, 15);
    EXPECT_EQ(stream.last[0], 15);
  });
}

TEST(LiveHub, HistoryRingKeepsTheNewestPointsInOrder) {
  Fixture fx;
  auto st = fx.stage(0);
  CountingEmitter out;
  Metrics metrics;
  LiveHubOptions o;
  o.history_points = 5;
  LiveHub hub(o, metrics, fx.bus);
  for (int i = 0; i < 12; ++i) st->process(rec(fx.k0, 0, 100 + i, i, -i), out);
  hub.poll_once();
  hub.with_state([&](const LiveState& s) {
    const LiveStream& stream = s.streams.begin()->second;
    EXPECT_EQ(stream.points(), 5u);
    std::vector<int64_t> ts;
    std::vector<std::vector<double>> v;
    stream.tail(100, ts, v);
    EXPECT_EQ(ts, (std::vector<int64_t>{107, 108, 109, 110, 111}));
    ASSERT_EQ(v.size(), 2u);
    EXPECT_EQ(v[0], (std::vector<double>{7, 8, 9, 10, 11}));
    EXPECT_EQ(v[1], (std::vector<double>{-7, -8, -9, -10, -11}));
    stream.tail(2, ts, v);
    EXPECT_EQ(ts, (std::vector<int64_t>{110, 111}));
  });
}

TEST(LiveHub, AStalledClientDropsItsOldestAndIsToldHowMany) {
  Fixture fx;
  auto st = fx.stage(0);
  CountingEmitter out;
  Metrics metrics;
  LiveHubOptions o;
  o.client_buffer = 4;
  LiveHub hub(o, metrics, fx.bus);
  auto stalled = hub.subscribe({});
  auto other_key = hub.subscribe({"line1/pump-2"});
  for (int i = 0; i < 10; ++i) st->process(rec(fx.k0, 0, i, i), out);
  hub.poll_once();
  EXPECT_EQ(stalled->dropped(), 6u);
  EXPECT_EQ(other_key->dropped(), 0u);  // filtered out: nothing queued, nothing dropped
  EXPECT_EQ(metrics.value("edgeloop_api_live_dropped_total"), 6);
  std::string got;
  ASSERT_TRUE(stalled->take(got, 0));
  const std::string first = "event: dropped\ndata: {\"count\":6}\n\n"
                            "event: reading\ndata: {\"key\":\"line1/pump-1\",\"pipeline\":\"vib\",\"stage\":\"features\","
                            "\"ts_ns\":6,\"values\":{\"rms\":6,\"peak\":0}}\n\n";
  EXPECT_EQ(got.substr(0, first.size()), first);
  EXPECT_NE(got.find("\"ts_ns\":9,"), std::string::npos);
  got.clear();
  ASSERT_TRUE(other_key->take(got, 0));
  EXPECT_EQ(got, "");
  hub.unsubscribe(stalled);
  EXPECT_EQ(hub.clients(), 1u);
  EXPECT_FALSE(stalled->take(got, 0));  // closed
}

Event alert_event(AlertState state, KeyId key, const Schema* schema, const std::string* name, const std::string* pipeline,
                  int64_t ts, double v) {
  Event e;
  e.kind = EventKind::kAlert;
  e.state = state;
  e.severity = Severity::kCritical;
  e.key = key;
  e.ts_ns = ts;
  e.nfields = 1;
  e.f[0] = v;
  e.schema = schema;
  e.name = name;
  e.pipeline_name = pipeline;
  return e;
}

TEST(LiveHub, AlertLifecycleFromEventsAndOperators) {
  Fixture fx;
  Metrics metrics;
  LiveHub hub(LiveHubOptions{}, metrics, fx.bus);
  auto feed = hub.subscribe({});
  const Schema s({"rms"});
  const std::string name = "bearing", pipeline = "vib";
  hub.on_event(alert_event(AlertState::kRaised, fx.k0, &s, &name, &pipeline, 1000, 0.95), &fx.keys);
  EXPECT_EQ(hub.poll_once(), 1u);
  std::string id;
  hub.with_state([&](const LiveState& st) {
    auto open = st.alerts.list(true);
    ASSERT_EQ(open.size(), 1u);
    id = open[0]->id;
    EXPECT_EQ(open[0]->key, "line1/pump-1");
    EXPECT_EQ(open[0]->name, "bearing");
    EXPECT_EQ(open[0]->severity, "critical");
    EXPECT_EQ(open[0]->raised_ns, 1000);
    EXPECT_EQ(st.alerts.open_count("line1/pump-1"), 1);
  });
  auto acked = hub.ack(id, "alice", "checking the bearing", 2000);
  ASSERT_TRUE(acked.ok());
  EXPECT_NE(acked->find("\"state\":\"acknowledged\""), std::string::npos);
  EXPECT_NE(acked->find("\"acked_by\":\"alice\""), std::string::npos);
  EXPECT_NE(acked->find("{\"by\":\"alice\",\"text\":\"checking the bearing\",\"ts_ns\":2000}"), std::string::npos) << *acked;
  EXPECT_TRUE(hub.comment(id, "bob", "replaced", 2500).ok());
  EXPECT_EQ(hub.ack("999", "alice", "", 1).error().code, Errc::kNotFound);
  EXPECT_EQ(hub.comment(id, "bob", "", 1).error().code, Errc::kInvalidArgument);

  hub.on_event(alert_event(AlertState::kCleared, fx.k0, &s, &name, &pipeline, 3000, 0.5), &fx.keys);
  hub.poll_once();
  hub.with_state([&](const LiveState& st) {
    EXPECT_TRUE(st.alerts.list(true).empty());
    const Alert* a = st.alerts.find(id);
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(a->phase, AlertPhase::kCleared);
    EXPECT_EQ(a->cleared_ns, 3000);
    EXPECT_EQ(a->acked_ns, 2000);
    ASSERT_EQ(a->comments.size(), 2u);
    EXPECT_EQ(a->comments[1].by, "bob");
    ASSERT_EQ(a->values.size(), 1u);
    EXPECT_EQ(a->values[0].second, 0.5);
    EXPECT_EQ(st.events_total, 2u);
  });
  // The feed saw raised, acknowledged, commented and cleared, in that order.
  std::string got;
  feed->take(got, 0);
  const auto raised = got.find("\"state\":\"raised\"");
  const auto ackd = got.find("\"state\":\"acknowledged\"");
  const auto cleared = got.find("\"state\":\"cleared\"");
  ASSERT_NE(raised, std::string::npos);
  ASSERT_NE(ackd, std::string::npos);
  ASSERT_NE(cleared, std::string::npos);
  EXPECT_LT(raised, ackd);
  EXPECT_LT(ackd, cleared);
}

TEST(AlertTable, KeepsOpenAlertsAndTheNewestClosedOnes) {
  AlertTable t(2);
  for (int i = 0; i < 4; ++i) {
    const std::string key = "k" + std::to_string(i);
    t.raise(key, "p", "r", "warning", i, {});
    t.clear(key, "p", "r", "warning", i + 10, {});
  }
  t.raise("open", "p", "r", "warning", 99, {});
  t.raise("open", "p", "r", "warning", 100, {});  // the same open alert, not a second one
  EXPECT_EQ(t.size(), 3u);
  auto all = t.list(false);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0]->key, "open");
  EXPECT_EQ(all[0]->raised_ns, 99);
  EXPECT_EQ(all[1]->key, "k3");
  EXPECT_EQ(all[2]->key, "k2");
  EXPECT_EQ(t.find("1"), nullptr);  // k0's, trimmed
  EXPECT_EQ(t.find("x"), nullptr);
  // A clear with no raise seen (raised before a restart) is recorded, raised_ns 0.
  const Alert& c = t.clear("late", "p", "r", "warning", 50, {});
  EXPECT_EQ(c.raised_ns, 0);
  EXPECT_EQ(c.phase, AlertPhase::kCleared);
}

TEST(Thresholds, ComparisonsOfRuleTexts) {
  auto t = thresholds_of("rms > 0.9 and 5 <= peak or abs(x) > 3");
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0].field, "rms");
  EXPECT_EQ(t[0].op, ">");
  EXPECT_EQ(t[0].value, 0.9);
  EXPECT_EQ(t[1].field, "peak");
  EXPECT_EQ(t[1].op, ">=");
  EXPECT_EQ(t[1].value, 5);
  auto c = thresholds_of("mean < 75");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].op, "<");
  EXPECT_EQ(c[0].value, 75);
  EXPECT_TRUE(thresholds_of("a + b").empty());
}

TEST(Overview, HealthFromAlertsAndThresholds) {
  std::vector<Threshold> th = {{"vib", "r", "rms", ">", 1.0, "when"}, {"vib", "r", "rms", "<", 0.5, "clear"}};
  std::map<std::pair<std::string, std::string>, double> v = {{{"vib", "rms"}, 0.81}};
  EXPECT_STREQ(asset_health(0, v, th), "warning");
  v[{"vib", "rms"}] = 0.8;
  EXPECT_STREQ(asset_health(0, v, th), "ok");
  EXPECT_STREQ(asset_health(1, v, th), "alert");
  std::map<std::pair<std::string, std::string>, double> other = {{{"temp", "rms"}, 5.0}};
  EXPECT_STREQ(asset_health(0, other, th), "ok");  // another pipeline's threshold
}

}  // namespace
}  // namespace edgeloop
