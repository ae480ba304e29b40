// The one registry of plugins by name (`source.mqtt`, `codec.json`, `op.window`,
// `action.mqtt_publish`). Each layer has register_builtins(Registry&), called from app/.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/options.h"
#include "core/plugin.h"

namespace edgeloop {

struct PluginInfo {
  std::string kind;     // "source", "codec", "op", "action"
  std::string name;     // "mqtt"
  std::string summary;  // one line for the reference
  OptionTable options;
  // When the config gives a scalar or a list instead of a map, it is the value of this
  // option (e.g. `codec: json`, `aggregate: [mean, max]`); empty: a map is required.
  std::string shorthand;
  std::string full_name() const { return kind + "." + name; }
};

using SourceFactory = std::function<Result<std::unique_ptr<Source>>(const Options&)>;
using CodecFactory = std::function<Result<std::unique_ptr<Codec>>(const Options&)>;
using StageFactory = std::function<Result<std::unique_ptr<Stage>>(const Options&, const StageContext&)>;
using ActionFactory = std::function<Result<std::unique_ptr<Action>>(const Options&)>;

class Registry {
 public:
  // A duplicate name is a bug: the second registration fails the process at start.
  void add_source(PluginInfo info, SourceFactory f);
  void add_codec(PluginInfo info, CodecFactory f);
  void add_stage(PluginInfo info, StageFactory f);
  void add_action(PluginInfo info, ActionFactory f);

  // Build a plugin from a config node: a map with `type: NAME` (sources, codecs, actions) or,
  // for stages, the value of a step `NAME: {...}`. Validates options against the table.
  Result<std::unique_ptr<Source>> make_source(const ConfigNode& node, const std::string& path) const;
  Result<std::unique_ptr<Codec>> make_codec(const ConfigNode& node, const std::string& path) const;
  Result<std::unique_ptr<Action>> make_action(const ConfigNode& node, const std::string& path) const;
  Result<std::unique_ptr<Stage>> make_stage(const std::string& name, const ConfigNode& node, const std::string& path,
                                            const StageContext& ctx) const;

  // Validates a node against a plugin's table (shorthand and `type` handled) without building.
  Result<Options> options_for(const std::string& kind, const std::string& name, const ConfigNode& node,
                              const std::string& path, const std::vector<std::string>& ignored = {}) const;

  const PluginInfo* find(const std::string& kind, const std::string& name) const;
  std::vector<const PluginInfo*> all() const;
  std::vector<std::string> names(const std::string& kind) const;
  // The config reference (docs/config-reference.md).
  std::string reference_markdown() const;

 private:
  struct Entry {
    PluginInfo info;
    SourceFactory source;
    CodecFactory codec;
    StageFactory stage;
    ActionFactory action;
  };
  void add(Entry e);
  Result<const Entry*> typed_entry(const std::string& kind, const ConfigNode& node, const std::string& path) const;

  std::map<std::string, Entry> entries_;  // by full name
};

}  // namespace edgeloop
