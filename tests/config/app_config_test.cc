#include "config/app_config.h"

#include <gtest/gtest.h>

#include "config/yaml_loader.h"

namespace edgeloop {
namespace {

YamlLoadOptions no_env() {
  YamlLoadOptions o;
  o.env = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
  return o;
}

Result<AppConfig> parse(std::string_view text) {
  auto root = load_yaml_string(text, "app.yaml", no_env());
  if (!root.ok()) return root.take_error();
  return parse_app_config(*root);
}

// The error text of a config that must fail.
std::string error_of(std::string_view text) {
  auto r = parse(text);
  EXPECT_FALSE(r.ok()) << "accepted:\n" << text;
  if (r.ok()) return "<ok>";
  EXPECT_EQ(r.error().code, Errc::kInvalidConfig) << r.error().message;
  return r.error().message;
}

constexpr const char* kSources = "sources:\n  a: {type: mqtt}\n  b: {type: simulator}\n";
constexpr const char* kOnePipeline = "pipelines:\n  t1: {from: a, steps: [window: {size: 2}]}\n";

std::string with_sources(std::string_view rest) { return std::string(kSources) + std::string(rest); }
std::string with_pipeline(std::string_view rest) { return std::string(kSources) + kOnePipeline + std::string(rest); }

TEST(AppConfig, CompleteSampleParsesToTheExpectedStruct) {
  const std::string path = std::string(EDGELOOP_SOURCE_DIR) + "/tests/config/testdata/complete.yaml";
  auto root = load_yaml_file(path, no_env());
  ASSERT_TRUE(root.ok()) << root.error().to_string();
  auto r = parse_app_config(*root);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  const AppConfig& c = *r;
  EXPECT_EQ(c.file, path);

  ASSERT_EQ(c.sources.size(), 2u);
  EXPECT_EQ(c.sources[0].name, "plant");
  EXPECT_EQ(c.sources[0].type, "mqtt");
  EXPECT_EQ(c.sources[0].path, "sources.plant");
  EXPECT_EQ(c.sources[0].mark.to_string(), path + ":4:5");
  EXPECT_EQ(c.sources[0].node.find("url")->str(), "mqtt://127.0.0.1:1883");
  EXPECT_EQ(c.sources[0].node.find("type")->str(), "mqtt");  // the whole node, for the plugin
  EXPECT_EQ(c.sources[1].name, "sim");
  EXPECT_EQ(c.sources[1].type, "simulator");

  ASSERT_EQ(c.pipelines.size(), 2u);
  const PipelineConfig& p = c.pipelines[0];
  EXPECT_EQ(p.name, "bearing_health");
  EXPECT_EQ(p.from, "plant");
  EXPECT_EQ(p.path, "pipelines.bearing_health");
  EXPECT_EQ(p.mark.to_string(), path + ":14:5");
  ASSERT_TRUE(p.key.has_value());
  EXPECT_EQ(*p.key, "{1}/{2}");
  ASSERT_TRUE(p.shards.has_value());
  EXPECT_EQ(*p.shards, 2);
  ASSERT_EQ(p.steps.size(), 4u);
  EXPECT_EQ(p.steps[0].name, "window");
  EXPECT_EQ(p.steps[0].path, "pipelines.bearing_health.steps[0].window");
  EXPECT_EQ(p.steps[0].mark.to_string(), path + ":18:9");
  EXPECT_EQ(p.steps[0].node.find("size")->str(), "4096");
  EXPECT_EQ(p.steps[1].name, "features");
  ASSERT_TRUE(p.steps[1].node.is_sequence());
  EXPECT_EQ(p.steps[1].node.items().size(), 4u);
  EXPECT_EQ(p.steps[2].name, "model");
  EXPECT_EQ(p.steps[2].node.find("type")->str(), "halfspace_trees");
  EXPECT_EQ(p.steps[3].name, "rule");
  EXPECT_EQ(p.steps[3].path, "pipelines.bearing_health.steps[3].rule");
  EXPECT_EQ(p.steps[3].node.find("when")->str(), "score > 0.9");
  const PipelineConfig& t = c.pipelines[1];
  EXPECT_EQ(t.name, "temperature");
  EXPECT_EQ(t.from, "sim");
  EXPECT_FALSE(t.key.has_value());
  EXPECT_FALSE(t.shards.has_value());
  ASSERT_EQ(t.steps.size(), 1u);
  EXPECT_EQ(t.steps[0].node.find("aggregates")->items()[0].str(), "mean");

  ASSERT_EQ(c.actions.size(), 3u);
  EXPECT_EQ(c.actions[0].name, "slow_down");
  EXPECT_EQ(c.actions[0].type, "mqtt_publish");
  EXPECT_EQ(c.actions[0].on, "bearing_health.alert");
  EXPECT_EQ(c.actions[0].on_pipeline, "bearing_health");
  EXPECT_EQ(c.actions[0].on_event, "alert");
  EXPECT_EQ(c.actions[0].path, "actions.slow_down");
  EXPECT_EQ(c.actions[0].node.find("payload")->str(), "{\"cmd\":\"reduce_speed\"}");
  EXPECT_EQ(c.actions[0].node.find("on")->str(), "bearing_health.alert");
  EXPECT_EQ(c.actions[1].on_pipeline, "*");
  EXPECT_EQ(c.actions[1].on_event, "raised");
  EXPECT_EQ(c.actions[2].on_pipeline, "temperature");
  EXPECT_EQ(c.actions[2].on_event, "*");

  ASSERT_TRUE(c.dead_letter.has_value());
  EXPECT_EQ(c.dead_letter->find("max_payload")->str(), "4KiB");
  ASSERT_TRUE(c.http.has_value());
  EXPECT_EQ(c.http->find("port")->str(), "8080");

  EXPECT_EQ(c.runtime.shards, 4);
  EXPECT_EQ(c.runtime.ring_capacity, 1024);
  EXPECT_EQ(c.runtime.summary_interval_ns, 0);
  EXPECT_EQ(c.runtime.max_keys, 5000);
  EXPECT_EQ(c.runtime.tick_ns, 50'000'000);
}

TEST(AppConfig, MinimalConfigTakesDefaults) {
  auto r = parse(with_pipeline(""));
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->file, "app.yaml");
  EXPECT_TRUE(r->actions.empty());
  EXPECT_FALSE(r->dead_letter.has_value());
  EXPECT_FALSE(r->http.has_value());
  EXPECT_EQ(r->runtime.shards, 1);
  EXPECT_EQ(r->runtime.ring_capacity, 65536);
  EXPECT_EQ(r->runtime.summary_interval_ns, 10'000'000'000);
  EXPECT_EQ(r->runtime.max_keys, 1'000'000);
  EXPECT_EQ(r->runtime.tick_ns, 100'000'000);
  // Empty optional sections are absent.
  r = parse(with_pipeline("actions:\ndead_letter:\nhttp:\nruntime:\n"));
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_TRUE(r->actions.empty());
  EXPECT_FALSE(r->dead_letter.has_value());
  EXPECT_FALSE(r->http.has_value());
  EXPECT_EQ(r->runtime.shards, 1);
}

TEST(AppConfig, RootMustBeAMapOfKnownSections) {
  EXPECT_EQ(error_of(""),
            "app.yaml:1:1: expected a map with sections sources, pipelines, actions, dead_letter, http, runtime, "
            "got nothing");
  EXPECT_EQ(error_of("- a\n"),
            "app.yaml:1:1: expected a map with sections sources, pipelines, actions, dead_letter, http, runtime, "
            "got a list");
  EXPECT_EQ(error_of(with_pipeline("sourcse: 1\n")),
            "app.yaml:6:10: unknown key 'sourcse' (expected one of: sources, pipelines, actions, dead_letter, http, "
            "runtime)");
}

TEST(AppConfig, SourcesAreRequiredAndTyped) {
  EXPECT_EQ(error_of(kOnePipeline),
            "app.yaml:1:1: missing required key 'sources' (a map of NAME: {type: ..., ...})");
  EXPECT_EQ(error_of("sources:\n"), "app.yaml:1:1: sources: expected a map of NAME: {type: ..., ...}, got nothing");
  EXPECT_EQ(error_of("sources: [a]\n"), "app.yaml:1:10: sources: expected a map of NAME: {type: ..., ...}, got a list");
  EXPECT_EQ(error_of("sources: {}\n"), "app.yaml:1:10: sources: expected at least one entry, got an empty map");
  EXPECT_EQ(error_of("sources:\n  a: mqtt\n"),
            "app.yaml:2:6: sources.a: expected a map with 'type' (the source plugin, e.g. mqtt), got a scalar");
  EXPECT_EQ(error_of("sources:\n  a: {url: x}\n"),
            "app.yaml:2:6: sources.a: missing required key 'type' (the source plugin, e.g. mqtt)");
  EXPECT_EQ(error_of("sources:\n  a: {type: [x]}\n"),
            "app.yaml:2:13: sources.a.type: expected a plugin type name, got a list");
  EXPECT_EQ(error_of("sources:\n  a: {type: ''}\n"),
            "app.yaml:2:13: sources.a.type: expected a plugin type name, got an empty string");
  EXPECT_EQ(error_of("sources:\n  bad name: {type: x}\n"),
            "app.yaml:2:13: sources: invalid name 'bad name' (use letters, digits, '_' and '-')");
  EXPECT_EQ(error_of("sources:\n  a.b: {type: x}\n"),
            "app.yaml:2:8: sources: invalid name 'a.b' (use letters, digits, '_' and '-')");
}

TEST(AppConfig, PipelinesAreRequired) {
  EXPECT_EQ(error_of(kSources),
            "app.yaml:1:1: missing required key 'pipelines' (a map of NAME: {from: SOURCE, steps: [...]})");
  EXPECT_EQ(error_of(with_sources("pipelines: x\n")),
            "app.yaml:4:12: pipelines: expected a map of NAME: {from: SOURCE, steps: [...]}, got a scalar");
  EXPECT_EQ(error_of(with_sources("pipelines:\n  t1: [a]\n")),
            "app.yaml:5:7: pipelines.t1: expected a map with 'from' and 'steps', got a list");
  EXPECT_EQ(error_of(with_sources("pipelines:\n  t*: {from: a, steps: [w: 1]}\n")),
            "app.yaml:5:7: pipelines: invalid name 't*' (use letters, digits, '_' and '-')");
}

TEST(AppConfig, PipelineKeysAreChecked) {
  EXPECT_EQ(error_of(with_sources("pipelines:\n  t1: {form: a, steps: [w: 1]}\n")),
            "app.yaml:5:14: pipelines.t1: unknown key 'form' (expected one of: from, steps, key, shards)");
  EXPECT_EQ(error_of(with_sources("pipelines:\n  t1: {steps: [w: 1]}\n")),
            "app.yaml:5:7: pipelines.t1: missing required key 'from' (a source: a, b)");
  EXPECT_EQ(error_of(with_sources("pipelines:\n  t1: {from: [a], steps: [w: 1]}\n")),
            "app.yaml:5:14: pipelines.t1.from: expected a source name, got a list");
  EXPECT_EQ(error_of(with_sources("pipelines:\n  t1: {from: x, steps: [w: 1]}\n")),
            "app.yaml:5:14: pipelines.t1.from: unknown source 'x' (sources: a, b)");
  EXPECT_EQ(error_of(with_sources("pipelines:\n  t1: {from: a}\n")),
            "app.yaml:5:7: pipelines.t1: missing required key 'steps' (a list like '- window: {size: 10}')");
  EXPECT_EQ(error_of(with_sources("pipelines:\n  t1: {from: a, steps: {w: 1}}\n")),
            "app.yaml:5:24: pipelines.t1.steps: expected a list of steps, got a map");
  EXPECT_EQ(error_of(with_sources("pipelines:\n  t1: {from: a, steps: []}\n")),
            "app.yaml:5:24: pipelines.t1.steps: expected at least one step, got an empty list");
  EXPECT_EQ(error_of(with_sources("pipelines:\n  t1: {from: a, steps: [w: 1], key: {a: 1}}\n")),
            "app.yaml:5:37: pipelines.t1.key: expected a string (a key template like \"{1}/{2}\"), got a map");
  EXPECT_EQ(error_of(with_sources("pipelines:\n  t1: {from: a, steps: [w: 1], shards: two}\n")),
            "app.yaml:5:40: pipelines.t1.shards: expected an integer, got 'two'");
  EXPECT_EQ(error_of(with_sources("pipelines:\n  t1: {from: a, steps: [w: 1], shards: 0}\n")),
            "app.yaml:5:40: pipelines.t1.shards: '0' out of range: must be between 1 and 256");
}

TEST(AppConfig, EachStepIsAMapWithOneKey) {
  EXPECT_EQ(error_of(with_sources("pipelines:\n  t1:\n    from: a\n    steps:\n      - window\n")),
            "app.yaml:8:9: pipelines.t1.steps[0]: expected a map with exactly one key, the step name "
            "(like '- window: {size: 10}'), got a scalar");
  EXPECT_EQ(error_of(with_sources("pipelines:\n  t1:\n    from: a\n    steps:\n      - w: 1\n      - {}\n")),
            "app.yaml:9:9: pipelines.t1.steps[1]: expected exactly one key, the step name, got 0");
  // The usual indentation slip: the options land beside the step name.
  EXPECT_EQ(error_of(with_sources("pipelines:\n  t1:\n    from: a\n    steps:\n      - window:\n        size: 3\n")),
            "app.yaml:8:9: pipelines.t1.steps[0]: expected exactly one key, the step name, got 2 "
            "(window, size; are the step's options indented under its name?)");
  EXPECT_EQ(error_of(with_sources("pipelines:\n  t1:\n    from: a\n    steps:\n      - \"a b\": 1\n")),
            "app.yaml:8:9: pipelines.t1.steps[0]: invalid step name 'a b' (use letters, digits, '_', '-' and '.')");
}

TEST(AppConfig, ActionsNeedTypeAndAKnownOn) {
  EXPECT_EQ(error_of(with_pipeline("actions: [x]\n")),
            "app.yaml:6:10: actions: expected a map of NAME: {type: ..., on: ...}, got a list");
  EXPECT_EQ(error_of(with_pipeline("actions:\n  x: {on: t1}\n")),
            "app.yaml:7:6: actions.x: missing required key 'type' (the action plugin, e.g. mqtt_publish)");
  EXPECT_EQ(error_of(with_pipeline("actions:\n  x: {type: log}\n")),
            "app.yaml:7:6: actions.x: missing required key 'on' (PIPELINE, PIPELINE.EVENT or *.EVENT; "
            "events: alert, raised, cleared, insight, command)");
  EXPECT_EQ(error_of(with_pipeline("actions:\n  x: {type: log, on: [t1]}\n")),
            "app.yaml:7:22: actions.x.on: expected PIPELINE, PIPELINE.EVENT or *.EVENT, got a list");
  EXPECT_EQ(error_of(with_pipeline("actions:\n  x: {type: log, on: t2.alert}\n")),
            "app.yaml:7:22: actions.x.on: unknown pipeline 't2' (pipelines: t1, or *)");
  EXPECT_EQ(error_of(with_pipeline("actions:\n  x: {type: log, on: t1.alrt}\n")),
            "app.yaml:7:22: actions.x.on: unknown event 'alrt' in 't1.alrt' "
            "(events: alert, raised, cleared, insight, command, or *)");
  EXPECT_EQ(error_of(with_pipeline("actions:\n  x: {type: log, on: .alert}\n")),
            "app.yaml:7:22: actions.x.on: expected PIPELINE, PIPELINE.EVENT or *.EVENT, got '.alert'");
  EXPECT_EQ(error_of(with_pipeline("actions:\n  x: {type: log, on: t1.}\n")),
            "app.yaml:7:22: actions.x.on: expected PIPELINE, PIPELINE.EVENT or *.EVENT, got 't1.'");
  EXPECT_EQ(error_of(with_pipeline("actions:\n  \"\": {type: log, on: t1}\n")),
            "app.yaml:7:7: actions: invalid name '' (use letters, digits, '_' and '-')");
}

TEST(AppConfig, OnSelectorsSplitIntoPipelineAndEvent) {
  const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
      {"t1", "t1", "*"},           {"t1.alert", "t1", "alert"},     {"t1.raised", "t1", "raised"},
      {"t1.cleared", "t1", "cleared"}, {"t1.insight", "t1", "insight"}, {"t1.command", "t1", "command"},
      {"*.raised", "*", "raised"}, {"*", "*", "*"},                 {"t1.*", "t1", "*"},
  };
  for (const auto& [on, pipeline, event] : cases) {
    auto r = parse(with_pipeline("actions:\n  x: {type: log, on: \"" + on + "\"}\n"));
    ASSERT_TRUE(r.ok()) << on << ": " << r.error().to_string();
    ASSERT_EQ(r->actions.size(), 1u);
    EXPECT_EQ(r->actions[0].on, on);
    EXPECT_EQ(r->actions[0].on_pipeline, pipeline) << on;
    EXPECT_EQ(r->actions[0].on_event, event) << on;
  }
}

TEST(AppConfig, PassThroughSectionsMustBeMaps) {
  EXPECT_EQ(error_of(with_pipeline("dead_letter: /tmp/x\n")),
            "app.yaml:6:14: dead_letter: expected a map (file, topic, max_payload, ...), got a scalar");
  EXPECT_EQ(error_of(with_pipeline("http: [8080]\n")),
            "app.yaml:6:7: http: expected a map (the HTTP API's options), got a list");
}

TEST(AppConfig, RuntimeOptionsAreValidated) {
  EXPECT_EQ(error_of(with_pipeline("runtime: 4\n")), "app.yaml:6:10: runtime: expected a map of options, got a scalar");
  EXPECT_EQ(error_of(with_pipeline("runtime: {shards: -1}\n")),
            "app.yaml:6:19: runtime.shards: '-1' out of range: must be between 0 and 256");
  EXPECT_EQ(error_of(with_pipeline("runtime: {shard: 2}\n")),
            "app.yaml:6:18: runtime: unknown key 'shard' (expected one of: shards, ring_capacity, summary_interval, "
            "max_keys, tick, state_dir)");
  EXPECT_EQ(error_of(with_pipeline("runtime: {tick: soon}\n")),
            "app.yaml:6:17: runtime.tick: expected a duration like 500ms, 10s, 5m, got 'soon'");
  EXPECT_EQ(error_of(with_pipeline("runtime: {ring_capacity: 1}\n")),
            "app.yaml:6:26: runtime.ring_capacity: '1' out of range: must be between 2 and 1.67772e+07");
  auto r = parse(with_pipeline("runtime: {summary_interval: 1m, tick: 1s}\n"));
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->runtime.summary_interval_ns, 60'000'000'000);
  EXPECT_EQ(r->runtime.tick_ns, 1'000'000'000);
  EXPECT_EQ(r->runtime.state_dir, "");
  auto st = parse(with_pipeline("runtime: {state_dir: /var/lib/edgeloop}\n"));
  ASSERT_TRUE(st.ok()) << st.error().to_string();
  EXPECT_EQ(st->runtime.state_dir, "/var/lib/edgeloop");
}

TEST(AppConfig, RuntimeOptionsAreDocumented) {
  ASSERT_EQ(runtime_options().size(), 6u);
  for (const auto& o : runtime_options()) EXPECT_FALSE(o.description.empty()) << o.name;
}

}  // namespace
}  // namespace edgeloop
