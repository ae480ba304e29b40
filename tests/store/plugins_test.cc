// op.store and action.store through a real Runtime (inproc source), inline and with shards.
#include <gtest/gtest.h>

#include "config/yaml_loader.h"
#include "runtime/inproc_source.h"
#include "runtime/runtime.h"
#include "store/builtins.h"
#include "store/store.h"
#include "store_test_util.h"

namespace edgeloop::store {
namespace {

using namespace testing;

// Raises an alert for each record whose first field is above `value`.
class AboveStage final : public Stage {
 public:
  AboveStage(double above, const Schema* in, std::string name, const std::string* pipeline)
      : above_(above), schema_(*in), name_(std::move(name)), pipeline_(pipeline) {}
  const Schema& output_schema() const override { return schema_; }
  void process(const Record& r, Emitter& out) override {
    if (r.f[0] > above_) {
      Event e;
      e.kind = EventKind::kAlert;
      e.state = AlertState::kRaised;
      e.severity = Severity::kCritical;
      e.key = r.key;
      e.ts_ns = r.ts_ns;
      e.nfields = r.nfields;
      e.f = r.f;
      e.schema = &schema_;
      e.name = &name_;
      e.pipeline_name = pipeline_;
      out.emit(std::move(e));
    }
    out.forward(r);
  }

 private:
  double above_;
  Schema schema_;
  std::string name_;
  const std::string* pipeline_;
};

Registry test_registry() {
  Registry r;
  register_runtime(r);
  register_store(r);
  r.add_stage(
      PluginInfo{.name = "above",
                 .summary = "test",
                 .options = {{.name = "value", .type = OptionType::kNumber, .default_value = "0", .description = "x"}}},
      [](const Options& o, const StageContext& ctx) -> Result<std::unique_ptr<Stage>> {
        return std::unique_ptr<Stage>(new AboveStage(o.number("value"), ctx.input, ctx.name, ctx.pipeline_name));
      });
  return r;
}

Result<AppConfig> config_from(const std::string& yaml) {
  auto root = load_yaml_string(yaml, "test.yaml");
  if (!root.ok()) return root.take_error();
  return parse_app_config(*root);
}

std::string config_yaml(const std::string& db, int shards) {
  return R"(
sources:
  in: {type: inproc, fields: [temp, hum]}
pipelines:
  p:
    from: in
    steps:
      - store: {path: ")" +
         db + R"(", rollups: [1m]}
      - above: {value: 50}
actions:
  keep:
    type: store
    on: "*"
    path: ")" +
         db + R"("
    gateway: gw-test
runtime:
  shards: )" +
         std::to_string(shards) + R"(
  summary_interval: 0s
)";
}

void run_through_runtime(int shards) {
  TempDir dir;
  const std::string db = dir.file("edge.db");
  const Registry registry = test_registry();
  auto config = config_from(config_yaml(db, shards));
  ASSERT_TRUE(config.ok()) << config.error().message;
  auto rt = Runtime::build(*config, registry);
  ASSERT_TRUE(rt.ok()) << rt.error().message;
  Runtime& runtime = **rt;
  ASSERT_TRUE(runtime.start().ok());
  SourceContext& ctx = runtime.source_context(0);
  constexpr int kKeys = 5, kPerKey = 120;
  std::vector<KeyId> ids;
  for (int k = 0; k < kKeys; ++k) ids.push_back(*ctx.keys->intern("dev-" + std::to_string(k), "t", 0));
  int above = 0;
  for (int i = 0; i < kPerKey; ++i) {
    for (int k = 0; k < kKeys; ++k) {
      Record r = record(ids[static_cast<std::size_t>(k)], kT0 + i * kSec, {static_cast<double>(i % 60), 1.0 * k});
      r.source = 0;
      above += r.f[0] > 50 ? 1 : 0;
      ctx.output->push(std::move(r));
    }
  }
  runtime.stop();  // the action's stop() commits its events

  auto stores = Store::open_stores();
  ASSERT_EQ(stores.size(), 1u);
  Store& store = *stores[0];
  EXPECT_EQ(store.path(), db);
  ASSERT_TRUE(store.flush().ok());  // the stages' readings (the stages live until the runtime goes)

  for (int k = 0; k < kKeys; ++k) {
    ReadingQuery q;
    q.key = "dev-" + std::to_string(k);
    auto rows = store.raw(q);
    ASSERT_TRUE(rows.ok());
    ASSERT_EQ(rows->size(), static_cast<std::size_t>(kPerKey));
    EXPECT_EQ((*rows)[7].ts_ns, kT0 + 7 * kSec);
    EXPECT_EQ((*rows)[7].fields[0].second, 7.0);
    EXPECT_EQ((*rows)[7].fields[1].second, 1.0 * k);
    q.rollup_ns = 60 * kSec;
    q.field = "temp";
    auto roll = store.rollups(q);
    ASSERT_TRUE(roll.ok());
    ASSERT_EQ(roll->size(), 2u);
    for (const auto& r : *roll) {
      EXPECT_EQ(r.count, 60);
      EXPECT_EQ(r.min, 0.0);
      EXPECT_EQ(r.max, 59.0);
      EXPECT_EQ(r.mean, 29.5);
    }
  }
  EventQuery eq;
  eq.limit = kMaxQueryLimit;
  auto events = store.events(eq);
  ASSERT_TRUE(events.ok());
  EXPECT_EQ(events->size(), static_cast<std::size_t>(above));
  eq.key = "dev-3";
  eq.limit = 1;
  auto one = store.events(eq);
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ((*one)[0].json,
            R"({"gateway":"gw-test","pipeline":"p","stage":"above","key":"dev-3","kind":"alert","state":"raised",)"
            R"("severity":"critical","ts_ns":1732536051000000000,"fields":{"temp":51,"hum":3}})");

  const Metrics::Labels readings = {{"store", db}, {"table", "readings"}};
  const Metrics::Labels ev = {{"store", db}, {"table", "events"}};
  EXPECT_EQ(runtime.metrics().value("edgeloop_store_rows_written_total", readings), kKeys * kPerKey);
  EXPECT_EQ(runtime.metrics().value("edgeloop_store_rows_written_total", ev), above);
  EXPECT_EQ(runtime.metrics().value("edgeloop_store_queue_drops_total", {{"store", db}}), 0);
  EXPECT_GE(runtime.metrics().value("edgeloop_store_batches_total", {{"store", db}}), 1);
  EXPECT_GT(runtime.metrics().value("edgeloop_store_db_bytes", {{"store", db}}), 0);
  const std::string text = runtime.metrics().render_prometheus();
  EXPECT_NE(
      text.find("edgeloop_store_retention_deleted_total{store=\"" + db + "\",table=\"readings\",reason=\"size\"} 0"),
      std::string::npos);
}

TEST(StorePlugins, InlineRuntimeKeepsReadingsAndEvents) {
  run_through_runtime(0);
}
TEST(StorePlugins, ShardedRuntimeKeepsReadingsAndEvents) {
  run_through_runtime(2);
}

TEST(StorePlugins, ASecondOpenerWithOtherRetentionIsAConfigError) {
  TempDir dir;
  const std::string db = dir.file("edge.db");
  const Registry registry = test_registry();
  auto config = config_from(R"(
sources:
  in: {type: inproc, fields: [v]}
pipelines:
  a:
    from: in
    steps:
      - store: {path: ")" + db +
                            R"(", raw_retention: 1d}
  b:
    from: in
    steps:
      - store: {path: ")" + db +
                            R"(", raw_retention: 2d}
runtime:
  summary_interval: 0s
)");
  ASSERT_TRUE(config.ok()) << config.error().message;
  auto rt = Runtime::build(*config, registry);
  ASSERT_FALSE(rt.ok());
  EXPECT_EQ(rt.error().code, Errc::kInvalidConfig);
  EXPECT_NE(rt.error().message.find("raw_retention: the store " + db +
                                    " is already open with raw_retention = "
                                    "1d (its first opener's settings apply)"),
            std::string::npos)
      << rt.error().message;
  EXPECT_NE(rt.error().message.find("test.yaml:12"), std::string::npos) << rt.error().message;
}

TEST(StorePlugins, OpenersThatAgreeOrSetNothingShareOneStore) {
  TempDir dir;
  const std::string db = dir.file("edge.db");
  const Registry registry = test_registry();
  auto config = config_from(R"(
sources:
  in: {type: inproc, fields: [v]}
pipelines:
  a:
    from: in
    steps:
      - store: {path: ")" + db +
                            R"(", raw_retention: 1d}
  b:
    from: in
    steps:
      - store: ")" + db + R"("
actions:
  keep: {type: store, on: "a.alert", path: ")" +
                            dir.path + "/./edge.db" + R"(", raw_retention: 24h}
runtime:
  shards: 2
  summary_interval: 0s
)");
  ASSERT_TRUE(config.ok()) << config.error().message;
  auto rt = Runtime::build(*config, registry);
  ASSERT_TRUE(rt.ok()) << rt.error().message;
  auto stores = Store::open_stores();
  ASSERT_EQ(stores.size(), 1u);
  EXPECT_EQ(stores[0]->settings().raw_retention_ns, 86400 * kSec);
}

TEST(StorePlugins, BadOptionsAreConfigErrors) {
  TempDir dir;
  const Registry registry = test_registry();
  auto build = [&](const std::string& step) {
    auto config = config_from(R"(
sources:
  in: {type: inproc, fields: [v]}
pipelines:
  a:
    from: in
    steps:
      - )" + step + R"(
)");
    EXPECT_TRUE(config.ok());
    auto rt = Runtime::build(*config, registry);
    EXPECT_FALSE(rt.ok());
    return rt.ok() ? std::string() : rt.error().message;
  };
  EXPECT_NE(
      build("store: {path: \"" + dir.file("x.db") + "\", rollups: [1m, 60s]}").find("an interval is listed twice"),
      std::string::npos);
  EXPECT_NE(build("store: {path: \"" + dir.file("x.db") + "\", max_bytes: 1KiB}").find("at least 256KiB"),
            std::string::npos);
  EXPECT_NE(build("store: {path: \"/nonexistent-dir/sub/x.db\"}").find("cannot open the database"), std::string::npos);
  EXPECT_NE(build("store: {rollups: [1m]}").find("path"), std::string::npos);
}

}  // namespace
}  // namespace edgeloop::store
