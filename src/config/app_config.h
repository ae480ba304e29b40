// The top level of an edgeloop config file, checked before anything starts and turned into a
// typed AppConfig that the runtime builds from. Plugin options (a source's `url`, a step's
// `size`) are not checked here: each plugin validates its own node with its option table.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/config_node.h"
#include "core/options.h"
#include "core/result.h"

namespace edgeloop {

// A named section entry: a source (`sources.NAME`).
struct NamedNode {
  std::string name;
  std::string type;  // its `type:` (e.g. "mqtt"); the registry resolves it
  ConfigNode node;   // the whole map, `type` included
  std::string path;  // "sources.NAME"
  Mark mark;
};

// One step of a pipeline: `- window: {size: 10}` gives name "window", node {size: 10}.
struct StepConfig {
  std::string name;
  ConfigNode node;   // the value under the step name: a map, list, scalar or null
  std::string path;  // "pipelines.P.steps[0].window"
  Mark mark;         // the step's place in the list
};

struct PipelineConfig {
  std::string name;
  std::string from;                // a source name (checked to exist)
  std::vector<StepConfig> steps;   // at least one
  std::optional<std::string> key;  // `key:` template for the stream key, if given
  std::optional<int> shards;       // `shards:` if given (1..kMaxShards)
  std::string path;                // "pipelines.P"
  Mark mark;
};

struct ActionConfig {
  std::string name;
  std::string type;         // its `type:`
  std::string on;           // as written: "vibration.raised", "*.alert", "vibration"
  std::string on_pipeline;  // a pipeline name, or "*" for every pipeline
  std::string on_event;     // "*" (every event), "alert", "raised", "cleared", "insight", "command"
  ConfigNode node;          // the whole map, `type` and `on` included
  std::string path;         // "actions.NAME"
  Mark mark;
};

inline constexpr int kMaxShards = 256;

struct RuntimeConfig {
  int shards = 1;
  int64_t ring_capacity = 65536;
  int64_t summary_interval_ns = 10'000'000'000;  // 0: no periodic summary
  int64_t max_keys = 1'000'000;
  int64_t tick_ns = 100'000'000;
  std::string state_dir;  // default folder of stage state snapshots (StageContext::state_dir); empty: none
};

struct AppConfig {
  std::string file;  // the config's name (from the root's mark)
  std::vector<NamedNode> sources;          // in file order
  std::vector<PipelineConfig> pipelines;   // in file order
  std::vector<ActionConfig> actions;       // in file order
  std::optional<ConfigNode> dead_letter;   // a map, validated by the runtime
  std::optional<ConfigNode> http;          // a map, validated by the api layer
  RuntimeConfig runtime;
};

// Checks the structure (known top-level keys, names of [A-Za-z0-9_-]+, `from` and `on`
// naming what exists, steps of one key each, the `runtime` options) and builds the struct.
// Errors are kInvalidConfig "file:line:col: path: what was expected".
Result<AppConfig> parse_app_config(const ConfigNode& root);

// The option table of the `runtime:` section (for the generated config reference).
const OptionTable& runtime_options();

// The event selectors an action's `on` may name after "PIPELINE.".
const std::vector<std::string>& known_event_selectors();

}  // namespace edgeloop
