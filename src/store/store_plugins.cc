#include "store/store_plugins.h"

#include <unistd.h>

#include "store/builtins.h"

namespace edgeloop::store {

namespace {

std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "edgeloop";
  return buf;
}

}  // namespace

const OptionTable& store_stage_options() {
  static const OptionTable table = [] {
    OptionTable t;
    StoreSettings::add_options(t);
    t.push_back({.name = "queue",
                 .type = OptionType::kInt,
                 .default_value = "8192",
                 .description = "Capacity of this instance's queue to the writer (one per shard), in readings; "
                                "when full, readings are dropped and counted (edgeloop_store_queue_drops_total).",
                 .min = 16,
                 .max = 1 << 24});
    return t;
  }();
  return table;
}

const OptionTable& store_action_options() {
  static const OptionTable table = [] {
    OptionTable t;
    StoreSettings::add_options(t);
    t.push_back({.name = "queue",
                 .type = OptionType::kInt,
                 .default_value = "8192",
                 .description = "Capacity of the queue from the dispatch thread to the writer, in events; when "
                                "full, events are dropped and counted (edgeloop_store_queue_drops_total).",
                 .min = 16,
                 .max = 1 << 24});
    t.push_back({.name = "gateway",
                 .type = OptionType::kString,
                 .description = "The gateway id written into each stored event's JSON (default: the host name)."});
    return t;
  }();
  return table;
}

Result<std::shared_ptr<Store>> open_store_for(const Options& options) {
  EDGELOOP_ASSIGN_OR_RETURN(StoreSettings settings, StoreSettings::from(options));
  auto store = Store::open_shared(settings);
  if (!store.ok()) return options.error("path", store.error().message);
  const StoreSettings& first = (*store)->settings();
  for (const auto& name : StoreSettings::compared_options()) {
    if (!options.has(name)) continue;
    if (first.value_text(name) == settings.value_text(name)) continue;
    return options.error(name, "the store " + settings.path + " is already open with " + name + " = " +
                                   first.value_text(name) + " (its first opener's settings apply): give the same " +
                                   "value here or leave it out");
  }
  return store;
}

Status StoreAction::start(ActionContext& ctx) {
  queue_ = store_->add_event_queue(ctx.keys, capacity_, gateway_, ctx.metrics);
  return Status::Ok();
}

}  // namespace edgeloop::store

namespace edgeloop {

void register_store(Registry& registry) {
  using store::Store;
  PluginInfo stage;
  stage.kind = "op";
  stage.name = "store";
  stage.summary =
      "Keeps the readings passing through in the local store (SQLite, WAL): raw rows and rollups "
      "(min/mean/max/count per interval), with retention and a disk bound; forwards every record unchanged. "
      "Put it first in a pipeline to keep the raw readings. Queried with `edgeloop query` and GET /api/v1/readings.";
  stage.options = store::store_stage_options();
  stage.shorthand = "path";
  registry.add_stage(std::move(stage), [](const Options& o, const StageContext& ctx) -> Result<std::unique_ptr<Stage>> {
    if (!ctx.input) return make_error(Errc::kInternal, o.path() + ": no input schema");
    EDGELOOP_ASSIGN_OR_RETURN(std::shared_ptr<Store> s, store::open_store_for(o));
    auto queue = s->add_reading_queue(*ctx.input, ctx.keys, static_cast<std::size_t>(o.integer("queue")), ctx.metrics);
    return std::unique_ptr<Stage>(new store::StoreStage(*ctx.input, std::move(queue)));
  });

  PluginInfo action;
  action.kind = "action";
  action.name = "store";
  action.summary =
      "Keeps events (alerts, insights, commands) in full in the local store, as the one event JSON shape, indexed by "
      "key, kind, time and pipeline (`on: \"*\"` keeps every event). Queried with `edgeloop query events` and "
      "GET /api/v1/events.";
  action.options = store::store_action_options();
  registry.add_action(std::move(action), [](const Options& o) -> Result<std::unique_ptr<Action>> {
    EDGELOOP_ASSIGN_OR_RETURN(std::shared_ptr<Store> s, store::open_store_for(o));
    std::string gateway = o.has("gateway") ? o.str("gateway") : store::host_name();
    return std::unique_ptr<Action>(
        new store::StoreAction(std::move(s), static_cast<std::size_t>(o.integer("queue")), std::move(gateway)));
  });
}

}  // namespace edgeloop
