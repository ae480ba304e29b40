// op.live inside a real Runtime (two shard threads): registered by register_api, fed by the
// router, its readings and the runtime's alert events reach the hub; /api/v1/pipelines reads
// the runtime's counters and the rule thresholds.
#include <gtest/gtest.h>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "api/builtins.h"
#include "api/live_hub.h"
#include "api/live_routes.h"
#include "api/pipeline_routes.h"
#include "config/app_config.h"
#include "config/yaml_loader.h"
#include "runtime/inproc_source.h"
#include "runtime/runtime.h"

namespace edgeloop {
namespace {

using nlohmann::json;

// A stand-in for op.rule (tests/api does not link the rules layer): raises above 50, clears below 10.
class Threshold50 final : public Stage {
 public:
  explicit Threshold50(const StageContext& ctx) : schema_(*ctx.input), ctx_(ctx) {}
  const Schema& output_schema() const override { return schema_; }
  void process(const Record& r, Emitter& out) override {
    if (r.slot >= raised_.size()) raised_.resize(r.slot + 1u, false);
    const bool up = r.f[0] > 50, down = r.f[0] < 10;
    if (up != static_cast<bool>(raised_[r.slot]) && (up || down)) {
      raised_[r.slot] = up;
      Event e;
      e.kind = EventKind::kAlert;
      e.state = up ? AlertState::kRaised : AlertState::kCleared;
      e.key = r.key;
      e.ts_ns = r.ts_ns;
      e.nfields = 1;
      e.f[0] = r.f[0];
      e.schema = &schema_;
      e.name = &name_;
      e.pipeline_name = ctx_.pipeline_name;
      out.emit(std::move(e));
    }
    out.forward(r);
  }

 private:
  Schema schema_;
  StageContext ctx_;
  std::string name_ = "hot";
  std::vector<char> raised_;
};

TEST(LiveRuntime, OpLiveAndAlertsFromARealRuntime) {
  LiveBus bus;
  Registry registry;
  register_runtime(registry);
  register_api(registry, bus);
  PluginInfo rule;
  rule.kind = "op";
  rule.name = "rule";
  rule.options = {{.name = "when", .type = OptionType::kString}, {.name = "clear", .type = OptionType::kString}};
  registry.add_stage(rule, [](const Options&, const StageContext& ctx) {
    return Result<std::unique_ptr<Stage>>(std::unique_ptr<Stage>(new Threshold50(ctx)));
  });
  auto root = load_yaml_string(R"(
sources:
  in: {type: inproc, fields: [v]}
pipelines:
  p:
    from: in
    steps:
      - live: {name: raw, max_rate_hz: 0}
      - rule: {when: "v > 50", clear: "v < 10"}
runtime:
  shards: 2
  summary_interval: 0s
  tick: 10ms
)",
                               "live.yaml");
  ASSERT_TRUE(root.ok()) << root.error().message;
  auto config = parse_app_config(*root);
  ASSERT_TRUE(config.ok()) << config.error().message;
  auto rt = Runtime::build(*config, registry);
  ASSERT_TRUE(rt.ok()) << rt.error().message;
  Runtime& runtime = **rt;
  Metrics hub_metrics;
  LiveHubOptions o;
  o.history_points = 4;
  LiveHub hub(o, hub_metrics, bus);
  attach_live_hub(runtime, hub);
  ApiOptions ao;
  ao.port = 0;
  ApiServer api(ao, runtime.metrics(), nullptr);
  register_pipeline_routes(api, runtime, *config);
  register_live_routes(api, runtime, hub, pipeline_thresholds(*config));
  ASSERT_TRUE(api.start().ok());
  ASSERT_TRUE(runtime.start().ok());

  SourceContext& ctx = runtime.source_context(0);
  constexpr int kKeys = 20, kPer = 10;
  for (int i = 0; i < kPer; ++i) {
    for (int k = 0; k < kKeys; ++k) {
      Record r;
      r.key = *ctx.keys->intern("k" + std::to_string(k), "t", 0);
      r.nfields = 1;
      r.ts_ns = 1000 + i;
      r.f[0] = k == 3 && i >= 5 ? 60 + i : i;  // k3 goes hot at i = 5
      ctx.output->push(std::move(r));
    }
  }
  runtime.stop();  // the shards and the dispatcher are drained
  hub.poll_once();
  hub.with_state([&](const LiveState& s) {
    ASSERT_EQ(s.streams.size(), static_cast<std::size_t>(kKeys));
    for (const auto& [id, st] : s.streams) {
      EXPECT_EQ(st.pipeline, "p");
      EXPECT_EQ(st.stage, "raw");
      EXPECT_EQ(st.last_ts_ns, 1000 + kPer - 1) << st.key;
      EXPECT_EQ(st.points(), 4u);
    }
    auto open = s.alerts.list(true);
    ASSERT_EQ(open.size(), 1u);
    EXPECT_EQ(open[0]->key, "k3");
    EXPECT_EQ(open[0]->name, "hot");
    EXPECT_EQ(open[0]->raised_ns, 1005);
    EXPECT_EQ(s.events_total, 1u);
  });

  httplib::Client c("127.0.0.1", api.port());
  auto res = c.Get("/api/v1/pipelines");
  ASSERT_TRUE(res);
  auto p = json::parse(res->body);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0]["name"], "p");
  EXPECT_EQ(p[0]["sources"], json::parse(R"(["in"])"));
  ASSERT_EQ(p[0]["stages"].size(), 2u);
  EXPECT_EQ(p[0]["stages"][0]["type"], "op.live");
  EXPECT_EQ(p[0]["stages"][0]["records_in"], kKeys * kPer);
  EXPECT_EQ(p[0]["stages"][0]["records_out"], kKeys * kPer);
  EXPECT_EQ(p[0]["stages"][1]["records_in"], kKeys * kPer);
  EXPECT_EQ(p[0]["stages"][0]["options"], json::parse(R"({"name":"raw","max_rate_hz":0})"));
  EXPECT_EQ(p[0]["thresholds"], json::parse(R"([{"stage":"rule","field":"v","op":">","value":50,"kind":"when"},
                                                 {"stage":"rule","field":"v","op":"<","value":10,"kind":"clear"}])"));
  auto ov = json::parse(c.Get("/api/v1/overview")->body);
  EXPECT_EQ(ov["pipelines"], 1);
  EXPECT_EQ(ov["assets"].size(), static_cast<std::size_t>(kKeys));
  api.stop();
}

}  // namespace
}  // namespace edgeloop
