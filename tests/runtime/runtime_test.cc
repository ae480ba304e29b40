// The runtime on its own: an in-process source, test stages, shards or inline, listeners.
#include "runtime/runtime.h"

#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <thread>

#include "config/yaml_loader.h"
#include "runtime/inproc_source.h"

namespace edgeloop {
namespace {

// A stage that raises an alert for every record whose first field exceeds `above`, and
// records the order it saw per key (to check that per-key order survives the hand-off).
class AboveStage final : public Stage {
 public:
  AboveStage(double above, const Schema* in, std::string name, const std::string* pipeline)
      : above_(above), schema_(*in), name_(std::move(name)), pipeline_(pipeline) {}
  const Schema& output_schema() const override { return schema_; }
  void process(const Record& r, Emitter& out) override {
    if (r.slot >= last_ts_.size()) last_ts_.resize(r.slot + 1, INT64_MIN);
    if (r.ts_ns <= last_ts_[r.slot]) ++out_of_order;
    last_ts_[r.slot] = r.ts_ns;
    if (r.f[0] > above_) {
      Event e;
      e.kind = EventKind::kAlert;
      e.state = AlertState::kRaised;
      e.key = r.key;
      e.ts_ns = r.ts_ns;
      e.recv_ns = r.recv_ns;
      e.nfields = r.nfields;
      e.f = r.f;
      e.schema = &schema_;
      e.name = &name_;
      e.pipeline_name = pipeline_;
      out.emit(std::move(e));
    }
    out.forward(r);
  }
  static inline std::atomic<int> out_of_order{0};

 private:
  double above_;
  Schema schema_;
  std::string name_;
  const std::string* pipeline_;
  std::vector<int64_t> last_ts_;
};

Registry test_registry() {
  Registry r;
  register_runtime(r);
  r.add_stage(PluginInfo{.name = "above",
                         .summary = "test",
                         .options = {{.name = "value", .type = OptionType::kNumber, .default_value = "0", .description = "x"}}},
              [](const Options& o, const StageContext& ctx) -> Result<std::unique_ptr<Stage>> {
                return std::unique_ptr<Stage>(new AboveStage(o.number("value"), ctx.input, ctx.name, ctx.pipeline_name));
              });
  return r;
}

AppConfig config_for(int shards) {
  const std::string yaml = R"(
sources:
  in: {type: inproc, fields: [v]}
pipelines:
  p:
    from: in
    steps:
      - above: {value: 50}
runtime:
  shards: )" + std::to_string(shards) + R"(
  summary_interval: 0s
)";
  auto root = load_yaml_string(yaml, "test.yaml");
  EXPECT_TRUE(root.ok()) << root.error().message;
  auto cfg = parse_app_config(*root);
  EXPECT_TRUE(cfg.ok()) << cfg.error().message;
  return std::move(cfg).value();
}

struct Collected {
  std::mutex mu;
  std::map<std::string, std::vector<int64_t>> ts_by_key;
  uint64_t last_seq = 0;
  bool seq_increasing = true;
  std::size_t count = 0;
};

void run_and_check(int shards) {
  const Registry registry = test_registry();
  auto rt = Runtime::build(config_for(shards), registry);
  ASSERT_TRUE(rt.ok()) << rt.error().message;
  Runtime& runtime = **rt;
  Collected got;
  runtime.add_event_listener([&](const Event& e) {
    std::lock_guard lock(got.mu);
    got.ts_by_key[runtime.keys().name(e.key)].push_back(e.ts_ns);
    got.seq_increasing = got.seq_increasing && e.seq > got.last_seq;
    got.last_seq = e.seq;
    ++got.count;
  });
  AboveStage::out_of_order = 0;
  ASSERT_TRUE(runtime.start().ok());
  SourceContext& ctx = runtime.source_context(0);
  constexpr int kKeys = 37, kPerKey = 3000;
  std::vector<KeyId> ids;
  for (int k = 0; k < kKeys; ++k) ids.push_back(*ctx.keys->intern("k" + std::to_string(k), "t", 0));
  std::size_t expected = 0;
  for (int i = 0; i < kPerKey; ++i) {
    for (int k = 0; k < kKeys; ++k) {
      Record r;
      r.key = ids[static_cast<std::size_t>(k)];
      r.source = 0;
      r.nfields = 1;
      r.ts_ns = i;
      r.f[0] = (i + k) % 2 ? 100 : 0;
      if (r.f[0] > 50) ++expected;
      ctx.output->push(std::move(r));
    }
  }
  runtime.stop();  // drains every ring before it returns
  EXPECT_EQ(got.count, expected);
  EXPECT_TRUE(got.seq_increasing);
  EXPECT_EQ(AboveStage::out_of_order.load(), 0);
  for (int k = 0; k < kKeys; ++k) {
    const auto& ts = got.ts_by_key["k" + std::to_string(k)];
    ASSERT_EQ(ts.size(), static_cast<std::size_t>(kPerKey / 2));
    for (std::size_t j = 1; j < ts.size(); ++j) ASSERT_LT(ts[j - 1], ts[j]);
  }
  EXPECT_EQ(runtime.metrics().value("edgeloop_pipeline_records_total", {{"pipeline", "p"}}), kKeys * kPerKey);
  EXPECT_EQ(runtime.metrics().value("edgeloop_events_total", {{"pipeline", "p"}, {"kind", "alert_raised"}}),
            static_cast<double>(expected));
  const Histogram* h = runtime.metrics().find_histogram("edgeloop_event_latency_seconds", {{"pipeline", "p"}});
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(runtime.status(), "ok");
}

}  // namespace

TEST(Runtime, InlineModeDeliversEveryEventInKeyOrder) { run_and_check(0); }
TEST(Runtime, OneShardDeliversEveryEventInKeyOrder) { run_and_check(1); }
TEST(Runtime, ThreeShardsDeliverEveryEventInKeyOrder) { run_and_check(3); }

TEST(Runtime, TinyRingsApplyBackPressureAndLoseNothing) {
  const Registry registry = test_registry();
  AppConfig cfg = config_for(2);
  cfg.runtime.ring_capacity = 4;
  auto rt = Runtime::build(cfg, registry);
  ASSERT_TRUE(rt.ok()) << rt.error().message;
  std::atomic<std::size_t> events{0};
  (*rt)->add_event_listener([&](const Event&) { events.fetch_add(1); });
  ASSERT_TRUE((*rt)->start().ok());
  SourceContext& ctx = (*rt)->source_context(0);
  const KeyId a = *ctx.keys->intern("a", "t", 0), b = *ctx.keys->intern("b", "t", 0);
  for (int i = 0; i < 20000; ++i) {
    Record r;
    r.key = i % 2 ? a : b;
    r.nfields = 1;
    r.ts_ns = i;
    r.f[0] = 100;
    ctx.output->push(std::move(r));
  }
  (*rt)->stop();
  EXPECT_EQ(events.load(), 20000u);
  EXPECT_GT((*rt)->metrics().value("edgeloop_router_backpressure_total") +
                (*rt)->metrics().value("edgeloop_shard_event_backpressure_total", {{"shard", "0"}}) +
                (*rt)->metrics().value("edgeloop_shard_event_backpressure_total", {{"shard", "1"}}),
            0);
}

TEST(Runtime, BuildErrorsNameThePlace) {
  const Registry registry = test_registry();
  auto root = load_yaml_string(R"(
sources:
  in: {type: inproc}
pipelines:
  p:
    from: in
    steps:
      - above: {valu: 3}
)",
                               "bad.yaml");
  ASSERT_TRUE(root.ok());
  auto cfg = parse_app_config(*root);
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  auto rt = Runtime::build(*cfg, registry);
  ASSERT_FALSE(rt.ok());
  EXPECT_EQ(rt.error().message, "bad.yaml:8:23: pipelines.p.steps[0].above: unknown key 'valu' (expected one of: value)");
}

}  // namespace edgeloop
