#include "core/registry.h"

#include <cstdio>
#include <cstdlib>

namespace edgeloop {

const char* health_name(Health h) {
  switch (h) {
    case Health::kConnecting: return "connecting";
    case Health::kConnected: return "connected";
    case Health::kDegraded: return "degraded";
    case Health::kDown: return "down";
  }
  return "unknown";
}

void Registry::add(Entry e) {
  const std::string full = e.info.full_name();
  if (entries_.count(full)) {
    std::fprintf(stderr, "edgeloop: plugin %s registered twice (a bug)\n", full.c_str());
    std::abort();
  }
  entries_.emplace(full, std::move(e));
}

void Registry::add_source(PluginInfo info, SourceFactory f) {
  info.kind = "source";
  add(Entry{std::move(info), std::move(f), {}, {}, {}});
}
void Registry::add_codec(PluginInfo info, CodecFactory f) {
  info.kind = "codec";
  add(Entry{std::move(info), {}, std::move(f), {}, {}});
}
void Registry::add_stage(PluginInfo info, StageFactory f) {
  info.kind = "op";
  add(Entry{std::move(info), {}, {}, std::move(f), {}});
}
void Registry::add_action(PluginInfo info, ActionFactory f) {
  info.kind = "action";
  add(Entry{std::move(info), {}, {}, {}, std::move(f)});
}

const PluginInfo* Registry::find(const std::string& kind, const std::string& name) const {
  auto it = entries_.find(kind + "." + name);
  return it == entries_.end() ? nullptr : &it->second.info;
}

std::vector<const PluginInfo*> Registry::all() const {
  std::vector<const PluginInfo*> out;
  for (const auto& [_, e] : entries_) out.push_back(&e.info);
  return out;
}

std::vector<std::string> Registry::names(const std::string& kind) const {
  std::vector<std::string> out;
  for (const auto& [_, e] : entries_)
    if (e.info.kind == kind) out.push_back(e.info.name);
  return out;
}

static std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

Result<const Registry::Entry*> Registry::typed_entry(const std::string& kind, const ConfigNode& node,
                                                      const std::string& path) const {
  std::string type;
  if (node.is_scalar()) {
    type = node.str();
  } else if (node.is_map()) {
    const ConfigNode* t = node.find("type");
    if (!t || !t->is_scalar()) {
      return make_error(Errc::kInvalidConfig,
                        config_error_text(node.mark(), path, "missing 'type' (one of: " + join(names(kind)) + ")"));
    }
    type = t->str();
  } else {
    return make_error(Errc::kInvalidConfig, config_error_text(node.mark(), path,
                                                              std::string("expected a map with 'type', got ") + node.kind_name()));
  }
  auto it = entries_.find(kind + "." + type);
  if (it == entries_.end()) {
    return make_error(Errc::kInvalidConfig, config_error_text(node.mark(), path,
                                                              "unknown " + kind + " type '" + type + "' (one of: " + join(names(kind)) + ")"));
  }
  return &it->second;
}

Result<Options> Registry::options_for(const std::string& kind, const std::string& name, const ConfigNode& node,
                                      const std::string& path, const std::vector<std::string>& ignored) const {
  auto it = entries_.find(kind + "." + name);
  if (it == entries_.end()) {
    return make_error(Errc::kInvalidConfig,
                      config_error_text(node.mark(), path, "unknown " + kind + " '" + name + "' (one of: " + join(names(kind)) + ")"));
  }
  const PluginInfo& info = it->second.info;
  if (!node.is_map() && !node.is_null()) {
    // `codec: json` names the type only; `aggregate: [mean]` gives the shorthand option.
    if (kind != "op" && node.is_scalar()) return Options::parse(info.options, ConfigNode(), path, ignored);
    if (info.shorthand.empty()) {
      return make_error(Errc::kInvalidConfig,
                        config_error_text(node.mark(), path, std::string("expected a map of options, got ") + node.kind_name()));
    }
    auto wrapped = std::make_shared<ConfigNode>(ConfigNode::map(node.mark()));
    wrapped->set(info.shorthand, node);
    return Options::parse_owned(info.options, std::move(wrapped), path, ignored);
  }
  return Options::parse(info.options, node, path, ignored);
}

Result<std::unique_ptr<Source>> Registry::make_source(const ConfigNode& node, const std::string& path) const {
  EDGELOOP_ASSIGN_OR_RETURN(const Entry* e, typed_entry("source", node, path));
  EDGELOOP_ASSIGN_OR_RETURN(Options opts, options_for("source", e->info.name, node, path, {"type"}));
  return e->source(opts);
}

Result<std::unique_ptr<Codec>> Registry::make_codec(const ConfigNode& node, const std::string& path) const {
  EDGELOOP_ASSIGN_OR_RETURN(const Entry* e, typed_entry("codec", node, path));
  EDGELOOP_ASSIGN_OR_RETURN(Options opts, options_for("codec", e->info.name, node, path, {"type"}));
  return e->codec(opts);
}

Result<std::unique_ptr<Action>> Registry::make_action(const ConfigNode& node, const std::string& path) const {
  EDGELOOP_ASSIGN_OR_RETURN(const Entry* e, typed_entry("action", node, path));
  EDGELOOP_ASSIGN_OR_RETURN(Options opts, options_for("action", e->info.name, node, path, {"type", "on"}));
  return e->action(opts);
}

Result<std::unique_ptr<Stage>> Registry::make_stage(const std::string& name, const ConfigNode& node,
                                                    const std::string& path, const StageContext& ctx) const {
  EDGELOOP_ASSIGN_OR_RETURN(Options opts, options_for("op", name, node, path));
  return entries_.at("op." + name).stage(opts, ctx);
}

std::string Registry::reference_markdown() const {
  std::string s =
      "# Config reference\n\nGenerated by `edgeloop docs` from the option tables in the code; do not edit.\n";
  static const std::pair<const char*, const char*> kSections[] = {
      {"source", "Sources (`sources.NAME.type`)"},
      {"codec", "Codecs (`sources.NAME.codec`)"},
      {"op", "Pipeline steps (`pipelines.NAME.steps[]`)"},
      {"action", "Actions (`actions.NAME.type`)"},
  };
  for (const auto& [kind, title] : kSections) {
    s += std::string("\n## ") + title + "\n";
    for (const auto& [_, e] : entries_) {
      if (e.info.kind != kind) continue;
      s += "\n### `" + e.info.name + "`\n\n" + e.info.summary + "\n\n";
      if (!e.info.shorthand.empty()) s += "Short form: a scalar or a list is the value of `" + e.info.shorthand + "`.\n\n";
      s += options_markdown(e.info.options);
    }
  }
  return s;
}

}  // namespace edgeloop
