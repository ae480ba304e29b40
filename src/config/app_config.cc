#include "config/app_config.h"

#include <array>
#include <string_view>

#include "core/key_table.h"

namespace edgeloop {
namespace {

constexpr std::array<std::string_view, 6> kTopLevelKeys = {"sources", "pipelines", "actions",
                                                           "dead_letter", "http", "runtime"};
constexpr std::array<std::string_view, 4> kPipelineKeys = {"from", "steps", "key", "shards"};
constexpr std::string_view kOnHelp = "PIPELINE, PIPELINE.EVENT or *.EVENT";

Error fail(const Mark& mark, std::string_view path, std::string_view what) {
  return make_error(Errc::kInvalidConfig, config_error_text(mark, path, what));
}

template <class List>
std::string join(const List& items) {
  std::string s;
  for (const auto& i : items) {
    if (!s.empty()) s += ", ";
    s += i;
  }
  return s;
}

std::string join_path(std::string_view parent, std::string_view child) {
  std::string s(parent);
  s += '.';
  s += child;
  return s;
}

bool valid_name(std::string_view name, bool dots = false) {
  if (name.empty()) return false;
  for (const char c : name) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
                    c == '-' || (dots && c == '.');
    if (!ok) return false;
  }
  return dots ? name.front() != '.' && name.back() != '.' : true;
}

Status check_name(std::string_view name, const ConfigNode& value, std::string_view section) {
  if (valid_name(name)) return Status::Ok();
  return fail(value.mark(), section,
              "invalid name '" + std::string(name) + "' (use letters, digits, '_' and '-')");
}

// A required section: a non-empty map of NAME -> value. `what` describes an entry.
Result<const ConfigNode*> section_map(const ConfigNode& root, std::string_view key, std::string_view what) {
  const ConfigNode* n = root.find(key);
  if (!n) {
    return fail(root.mark(), "",
                "missing required key '" + std::string(key) + "' (a map of NAME: " + std::string(what) + ")");
  }
  if (!n->is_map()) {
    return fail(n->mark(), key,
                "expected a map of NAME: " + std::string(what) + ", got " + n->kind_name());
  }
  if (n->entries().empty()) return fail(n->mark(), key, "expected at least one entry, got an empty map");
  return n;
}

// `type:` of a source or action: a non-empty scalar.
Result<std::string> type_of(const ConfigNode& node, const std::string& path, std::string_view what) {
  if (!node.is_map()) {
    return fail(node.mark(), path, "expected a map with 'type' (" + std::string(what) + "), got " + node.kind_name());
  }
  const ConfigNode* t = node.find("type");
  if (!t || t->is_null()) return fail(t ? t->mark() : node.mark(), path, "missing required key 'type' (" + std::string(what) + ")");
  if (!t->is_scalar() || t->str().empty()) {
    return fail(t->mark(), join_path(path, "type"),
                std::string("expected a plugin type name, got ") + (t->is_scalar() ? "an empty string" : t->kind_name()));
  }
  return t->str();
}

Result<std::vector<NamedNode>> parse_sources(const ConfigNode& root) {
  EDGELOOP_ASSIGN_OR_RETURN(const ConfigNode* section, section_map(root, "sources", "{type: ..., ...}"));
  std::vector<NamedNode> out;
  for (const auto& [name, node] : section->entries()) {
    EDGELOOP_TRY(check_name(name, node, "sources"));
    NamedNode s;
    s.name = name;
    s.path = join_path("sources", name);
    EDGELOOP_ASSIGN_OR_RETURN(s.type, type_of(node, s.path, "the source plugin, e.g. mqtt"));
    s.node = node;
    s.mark = node.mark();
    out.push_back(std::move(s));
  }
  return out;
}

Result<StepConfig> parse_step(const ConfigNode& item, const std::string& path) {
  if (!item.is_map()) {
    return fail(item.mark(), path,
                std::string("expected a map with exactly one key, the step name (like '- window: {size: 10}'), got ") +
                    item.kind_name());
  }
  if (item.entries().size() != 1) {
    std::string keys;
    for (const auto& [k, v] : item.entries()) keys += (keys.empty() ? "" : ", ") + k;
    return fail(item.mark(), path,
                "expected exactly one key, the step name, got " + std::to_string(item.entries().size()) +
                    (keys.empty() ? std::string() : " (" + keys + "; are the step's options indented under its name?)"));
  }
  const auto& [name, node] = item.entries().front();
  // Step types are plugin names, some of them dotted (model.onnx).
  if (!valid_name(name, true)) {
    return fail(item.mark(), path, "invalid step name '" + name + "' (use letters, digits, '_', '-' and '.')");
  }
  StepConfig s;
  s.name = name;
  s.node = node;
  s.path = join_path(path, name);
  s.mark = item.mark();
  return s;
}

Result<PipelineConfig> parse_pipeline(const std::string& name, const ConfigNode& node,
                                      const std::vector<NamedNode>& sources) {
  PipelineConfig p;
  p.name = name;
  p.path = join_path("pipelines", name);
  p.mark = node.mark();
  if (!node.is_map()) {
    return fail(node.mark(), p.path, std::string("expected a map with 'from' and 'steps', got ") + node.kind_name());
  }
  for (const auto& [key, value] : node.entries()) {
    bool known = false;
    for (auto k : kPipelineKeys) known = known || k == key;
    if (!known) {
      return fail(value.mark(), p.path, "unknown key '" + key + "' (expected one of: " + join(kPipelineKeys) + ")");
    }
  }
  std::vector<std::string> source_names;
  for (const auto& s : sources) source_names.push_back(s.name);

  const ConfigNode* from = node.find("from");
  if (!from || from->is_null()) {
    return fail(from ? from->mark() : node.mark(), p.path, "missing required key 'from' (a source: " + join(source_names) + ")");
  }
  if (!from->is_scalar()) {
    return fail(from->mark(), p.path + ".from", std::string("expected a source name, got ") + from->kind_name());
  }
  bool found = false;
  for (const auto& s : source_names) found = found || s == from->str();
  if (!found) {
    return fail(from->mark(), p.path + ".from",
                "unknown source '" + from->str() + "' (sources: " + join(source_names) + ")");
  }
  p.from = from->str();

  const ConfigNode* steps = node.find("steps");
  if (!steps || steps->is_null()) {
    return fail(steps ? steps->mark() : node.mark(), p.path, "missing required key 'steps' (a list like '- window: {size: 10}')");
  }
  const std::string steps_path = p.path + ".steps";
  if (!steps->is_sequence()) {
    return fail(steps->mark(), steps_path, std::string("expected a list of steps, got ") + steps->kind_name());
  }
  if (steps->items().empty()) return fail(steps->mark(), steps_path, "expected at least one step, got an empty list");
  for (std::size_t i = 0; i < steps->items().size(); ++i) {
    EDGELOOP_ASSIGN_OR_RETURN(StepConfig step,
                              parse_step(steps->items()[i], steps_path + "[" + std::to_string(i) + "]"));
    p.steps.push_back(std::move(step));
  }

  if (const ConfigNode* key = node.find("key"); key && !key->is_null()) {
    if (!key->is_scalar()) {
      return fail(key->mark(), p.path + ".key",
                  std::string("expected a string (a key template like \"{1}/{2}\"), got ") + key->kind_name());
    }
    p.key = key->str();
  }
  if (const ConfigNode* shards = node.find("shards"); shards && !shards->is_null()) {
    const std::string where = p.path + ".shards";
    if (!shards->is_scalar()) {
      return fail(shards->mark(), where, std::string("expected an integer, got ") + shards->kind_name());
    }
    auto n = parse_int(shards->str());
    if (!n.ok()) return fail(shards->mark(), where, n.error().message);
    if (*n < 1 || *n > kMaxShards) {
      return fail(shards->mark(), where,
                  "'" + shards->str() + "' out of range: must be between 1 and " + std::to_string(kMaxShards));
    }
    p.shards = static_cast<int>(*n);
  }
  return p;
}

Result<std::vector<PipelineConfig>> parse_pipelines(const ConfigNode& root, const std::vector<NamedNode>& sources) {
  EDGELOOP_ASSIGN_OR_RETURN(const ConfigNode* section, section_map(root, "pipelines", "{from: SOURCE, steps: [...]}"));
  std::vector<PipelineConfig> out;
  for (const auto& [name, node] : section->entries()) {
    EDGELOOP_TRY(check_name(name, node, "pipelines"));
    EDGELOOP_ASSIGN_OR_RETURN(PipelineConfig p, parse_pipeline(name, node, sources));
    out.push_back(std::move(p));
  }
  return out;
}

// Splits `on` into pipeline and event; checks both.
Status parse_on(const ConfigNode& on, const std::string& path, const std::vector<PipelineConfig>& pipelines,
                ActionConfig& a) {
  const std::string& text = on.str();
  const std::size_t dot = text.find('.');
  const std::string pipeline = text.substr(0, dot);
  const std::string event = dot == std::string::npos ? "*" : text.substr(dot + 1);
  if (pipeline.empty() || (dot != std::string::npos && event.empty())) {
    return fail(on.mark(), path, "expected " + std::string(kOnHelp) + ", got '" + text + "'");
  }
  if (pipeline != "*") {
    bool found = false;
    std::vector<std::string> names;
    for (const auto& p : pipelines) {
      found = found || p.name == pipeline;
      names.push_back(p.name);
    }
    if (!found) {
      return fail(on.mark(), path, "unknown pipeline '" + pipeline + "' (pipelines: " + join(names) + ", or *)");
    }
  }
  bool known = event == "*";
  for (const auto& e : known_event_selectors()) known = known || e == event;
  if (!known) {
    return fail(on.mark(), path,
                "unknown event '" + event + "' in '" + text + "' (events: " + join(known_event_selectors()) + ", or *)");
  }
  a.on = text;
  a.on_pipeline = pipeline;
  a.on_event = event;
  return Status::Ok();
}

Result<std::vector<ActionConfig>> parse_actions(const ConfigNode& root, const std::vector<PipelineConfig>& pipelines) {
  std::vector<ActionConfig> out;
  const ConfigNode* section = root.find("actions");
  if (!section || section->is_null()) return out;  // a config may only watch (api, store)
  if (!section->is_map()) {
    return fail(section->mark(), "actions",
                std::string("expected a map of NAME: {type: ..., on: ...}, got ") + section->kind_name());
  }
  for (const auto& [name, node] : section->entries()) {
    EDGELOOP_TRY(check_name(name, node, "actions"));
    ActionConfig a;
    a.name = name;
    a.path = join_path("actions", name);
    a.mark = node.mark();
    EDGELOOP_ASSIGN_OR_RETURN(a.type, type_of(node, a.path, "the action plugin, e.g. mqtt_publish"));
    const ConfigNode* on = node.find("on");
    if (!on || on->is_null()) {
      return fail(on ? on->mark() : node.mark(), a.path, "missing required key 'on' (" + std::string(kOnHelp) +
                                           "; events: " + join(known_event_selectors()) + ")");
    }
    if (!on->is_scalar()) {
      return fail(on->mark(), a.path + ".on",
                  "expected " + std::string(kOnHelp) + ", got " + on->kind_name());
    }
    EDGELOOP_TRY(parse_on(*on, a.path + ".on", pipelines, a));
    a.node = node;
    out.push_back(std::move(a));
  }
  return out;
}

// dead_letter and http: optional maps handed on whole.
Result<std::optional<ConfigNode>> optional_map(const ConfigNode& root, std::string_view key, std::string_view what) {
  const ConfigNode* n = root.find(key);
  if (!n || n->is_null()) return std::optional<ConfigNode>();
  if (!n->is_map()) {
    return fail(n->mark(), key, "expected a map (" + std::string(what) + "), got " + n->kind_name());
  }
  return std::optional<ConfigNode>(*n);
}

Result<RuntimeConfig> parse_runtime(const ConfigNode& root) {
  const ConfigNode* n = root.find("runtime");
  static const ConfigNode kNone;
  EDGELOOP_ASSIGN_OR_RETURN(Options o, Options::parse(runtime_options(), n ? *n : kNone, "runtime"));
  RuntimeConfig r;
  r.shards = static_cast<int>(o.integer("shards"));
  r.ring_capacity = o.integer("ring_capacity");
  r.summary_interval_ns = o.duration_ns("summary_interval");
  r.max_keys = o.integer("max_keys");
  r.tick_ns = o.duration_ns("tick");
  r.state_dir = o.str("state_dir");
  return r;
}

}  // namespace

const std::vector<std::string>& known_event_selectors() {
  static const std::vector<std::string> kEvents = {"alert", "raised", "cleared", "insight", "command"};
  return kEvents;
}

const OptionTable& runtime_options() {
  static const OptionTable kTable = {
      {.name = "shards", .type = OptionType::kInt, .default_value = "1",
       .description = "Shard threads that run the pipelines; stream keys are spread over them by hash. 0: no "
                      "shard threads, each source's own thread runs its pipelines (no hand-off: the cheapest on a "
                      "machine with few cores).",
       .min = 0, .max = kMaxShards},
      {.name = "ring_capacity", .type = OptionType::kInt, .default_value = "65536",
       .description = "Slots of each shard's input and event ring (rounded up to a power of two); a full ring "
                      "is back-pressure on the sources, counted.",
       .min = 2, .max = 16 * 1024 * 1024},
      {.name = "summary_interval", .type = OptionType::kDuration, .default_value = "10s",
       .description = "How often a one-line summary (rates, events, back-pressure, latency) is logged; 0 turns it off.",
       .min = 0, .max = 86400},
      {.name = "max_keys", .type = OptionType::kInt, .default_value = "1000000",
       .description = "Most distinct stream keys (devices) kept; readings of further keys are dead-lettered.",
       .min = 1, .max = static_cast<double>(KeyTable::kChunkSize * KeyTable::kMaxChunks)},
      {.name = "tick", .type = OptionType::kDuration, .default_value = "100ms",
       .description = "Period of the shards' timer tick, which closes time windows and times out rules when no "
                      "readings arrive.",
       .min = 0.001, .max = 60},
      {.name = "state_dir", .type = OptionType::kString,
       .description = "Default folder for the state snapshots of the stages that keep per-key state across "
                      "restarts (`detect`, `health`, `rule`): used where a stage sets no `state_dir` of its own, "
                      "so that a restart neither learns from scratch nor repeats or loses an alert. Unset: no "
                      "snapshots unless a stage asks for them."},
  };
  return kTable;
}

Result<AppConfig> parse_app_config(const ConfigNode& root) {
  if (!root.is_map()) {
    return fail(root.mark(), "",
                "expected a map with sections " + join(kTopLevelKeys) + ", got " + root.kind_name());
  }
  for (const auto& [key, value] : root.entries()) {
    bool known = false;
    for (auto k : kTopLevelKeys) known = known || k == key;
    if (!known) return fail(value.mark(), "", "unknown key '" + key + "' (expected one of: " + join(kTopLevelKeys) + ")");
  }
  AppConfig c;
  c.file = root.mark().file ? *root.mark().file : std::string();
  EDGELOOP_ASSIGN_OR_RETURN(c.sources, parse_sources(root));
  EDGELOOP_ASSIGN_OR_RETURN(c.pipelines, parse_pipelines(root, c.sources));
  EDGELOOP_ASSIGN_OR_RETURN(c.actions, parse_actions(root, c.pipelines));
  EDGELOOP_ASSIGN_OR_RETURN(c.dead_letter, optional_map(root, "dead_letter", "file, topic, max_payload, ..."));
  EDGELOOP_ASSIGN_OR_RETURN(c.http, optional_map(root, "http", "the HTTP API's options"));
  EDGELOOP_ASSIGN_OR_RETURN(c.runtime, parse_runtime(root));
  return c;
}

}  // namespace edgeloop
