#include "runtime/runtime.h"

#include <spdlog/spdlog.h>

#include <cinttypes>
#include <cstdio>

#include "core/clock.h"

namespace edgeloop {

Result<std::unique_ptr<Runtime>> Runtime::build(const AppConfig& config, const Registry& registry) {
  std::unique_ptr<Runtime> rt(new Runtime());
  rt->settings_ = config.runtime;
  rt->inline_mode_ = config.runtime.shards == 0;
  rt->keys_ = std::make_unique<KeyTable>(static_cast<std::size_t>(config.runtime.max_keys));

  // Sources.
  if (config.sources.size() > UINT16_MAX) return make_error(Errc::kInvalidConfig, "too many sources");
  for (const auto& s : config.sources) {
    EDGELOOP_ASSIGN_OR_RETURN(auto src, registry.make_source(s.node, s.path));
    rt->source_names_.push_back(s.name);
    rt->sources_.push_back(std::move(src));
  }
  auto source_index = [&](const std::string& name) -> int {
    for (std::size_t i = 0; i < rt->source_names_.size(); ++i)
      if (rt->source_names_[i] == name) return static_cast<int>(i);
    return -1;
  };

  // Pipelines: plans first (validated once), then one instance per shard.
  rt->pipeline_names_.reserve(config.pipelines.size());
  std::vector<PipelinePlan> plans;
  for (std::size_t p = 0; p < config.pipelines.size(); ++p) {
    const auto& pc = config.pipelines[p];
    const int src = source_index(pc.from);
    if (src < 0) {
      return make_error(Errc::kInvalidConfig, config_error_text(pc.mark, pc.path + ".from", "unknown source '" + pc.from + "'"));
    }
    if (pc.key || pc.shards) {
      // Keys come from the source (e.g. topic levels); per-pipeline sharding follows runtime.shards.
      return make_error(Errc::kInvalidConfig,
                        config_error_text(pc.mark, pc.path, pc.key ? "'key' belongs to the source (e.g. sources.NAME.key)"
                                                                   : "'shards' is set for all pipelines in runtime.shards"));
    }
    rt->pipeline_names_.push_back(pc.name);
    PipelinePlan plan;
    plan.name = pc.name;
    plan.index = static_cast<uint16_t>(p);
    plan.source = static_cast<uint16_t>(src);
    plan.source_schema = &rt->sources_[static_cast<std::size_t>(src)]->schema();
    for (const auto& step : pc.steps) plan.steps.push_back({step.name, &step.node, step.path});
    plan.state_dir = config.runtime.state_dir;
    plans.push_back(std::move(plan));
  }

  rt->dispatcher_ = std::make_unique<Dispatcher>(rt->metrics_, rt->pipeline_names_);
  rt->backpressure_ = &rt->metrics_.counter("edgeloop_router_backpressure_total",
                                            "Times a source waited because its shard's input ring was full.");
  ShardSettings shard_settings;
  shard_settings.ring_capacity = static_cast<std::size_t>(config.runtime.ring_capacity);
  shard_settings.event_capacity = static_cast<std::size_t>(config.runtime.ring_capacity);
  shard_settings.tick_ns = config.runtime.tick_ns;

  if (rt->inline_mode_) {
    // One core per source, run on the source's own thread.
    for (std::size_t s = 0; s < rt->sources_.size(); ++s) {
      auto core = std::make_unique<ShardCore>(static_cast<uint16_t>(s), shard_settings.event_capacity, rt->metrics_,
                                              rt->dispatcher_->parker());
      for (const auto& plan : plans) {
        if (plan.source != s) continue;
        EDGELOOP_TRY(core->add_pipeline(plan, &rt->pipeline_names_[plan.index], registry, rt->keys_.get()));
      }
      rt->dispatcher_->add_ring(&core->events());
      rt->outputs_.push_back(std::make_unique<InlineOutput>(*core, shard_settings.tick_ns));
      rt->inline_cores_.push_back(std::move(core));
    }
  } else {
    std::vector<Shard*> shard_ptrs;
    for (int i = 0; i < config.runtime.shards; ++i) {
      auto shard = std::make_unique<Shard>(static_cast<uint16_t>(i), rt->sources_.size(), shard_settings, rt->metrics_,
                                           rt->dispatcher_->parker());
      for (const auto& plan : plans) EDGELOOP_TRY(shard->core().add_pipeline(plan, &rt->pipeline_names_[plan.index], registry, rt->keys_.get()));
      rt->dispatcher_->add_ring(&shard->core().events());
      shard_ptrs.push_back(shard.get());
      rt->shards_.push_back(std::move(shard));
    }
    for (std::size_t s = 0; s < rt->sources_.size(); ++s) {
      rt->outputs_.push_back(std::make_unique<ShardedOutput>(static_cast<uint16_t>(s), shard_ptrs, *rt->backpressure_));
    }
  }

  // Actions.
  for (const auto& a : config.actions) {
    EDGELOOP_ASSIGN_OR_RETURN(auto action, registry.make_action(a.node, a.path));
    EventSelector sel;
    auto parsed = EventSelector::parse(a.on_event);
    if (!parsed.ok()) return make_error(Errc::kInvalidConfig, config_error_text(a.node.mark(), a.path + ".on", parsed.error().message));
    sel = *parsed;
    if (!a.on_pipeline.empty() && a.on_pipeline != "*") {
      int found = -1;
      for (std::size_t p = 0; p < rt->pipeline_names_.size(); ++p)
        if (rt->pipeline_names_[p] == a.on_pipeline) found = static_cast<int>(p);
      if (found < 0) {
        return make_error(Errc::kInvalidConfig,
                          config_error_text(a.node.mark(), a.path + ".on", "unknown pipeline '" + a.on_pipeline + "'"));
      }
      sel.pipeline = found;
    }
    rt->dispatcher_->add_action(action.get(), sel, a.name);
    rt->action_names_.push_back(a.name);
    rt->actions_.push_back(std::move(action));
  }

  DeadLetterOptions dl;
  if (config.dead_letter) {
    EDGELOOP_ASSIGN_OR_RETURN(dl, DeadLetterOptions::from(*config.dead_letter, "dead_letter"));
  }
  rt->dead_letters_ = std::make_unique<DeadLetterWriter>(dl, rt->metrics_);
  return rt;
}

Runtime::~Runtime() { stop(); }

Status Runtime::start() {
  if (started_) return Status::Ok();
  EDGELOOP_TRY(dead_letters_->start());
  for (std::size_t i = 0; i < actions_.size(); ++i) {
    ActionContext ctx;
    ctx.name = action_names_[i];
    ctx.keys = keys_.get();
    ctx.metrics = &metrics_;
    ctx.dead_letters = dead_letters_.get();
    action_contexts_.push_back(ctx);
  }
  for (std::size_t i = 0; i < actions_.size(); ++i) {
    auto st = actions_[i]->start(action_contexts_[i]);
    if (!st.ok()) return make_error(st.error().code, "action " + action_names_[i] + ": " + st.error().message);
  }
  dispatcher_->start();
  for (auto& shard : shards_) shard->start();
  source_contexts_.reserve(sources_.size());
  for (std::size_t i = 0; i < sources_.size(); ++i) {
    SourceContext ctx;
    ctx.name = source_names_[i];
    ctx.index = static_cast<uint16_t>(i);
    ctx.keys = keys_.get();
    ctx.output = outputs_[i].get();
    ctx.dead_letters = dead_letters_.get();
    ctx.metrics = &metrics_;
    source_contexts_.push_back(ctx);
  }
  started_ = true;
  for (std::size_t i = 0; i < sources_.size(); ++i) {
    auto st = sources_[i]->start(source_contexts_[i]);
    if (!st.ok()) {
      stop();
      return make_error(st.error().code, "source " + source_names_[i] + ": " + st.error().message);
    }
  }
  last_summary_ns_ = mono_now_ns();
  summary_thread_ = std::thread([this] { housekeeping_loop(); });
  serving_.store(true, std::memory_order_release);
  return Status::Ok();
}

void Runtime::stop() {
  if (!started_) return;
  started_ = false;
  {
    std::lock_guard lock(summary_mu_);
    summary_stop_ = true;
  }
  summary_cv_.notify_all();
  if (summary_thread_.joinable()) summary_thread_.join();
  for (auto& s : sources_) s->stop();
  // Inline cores ran on their sources' threads, which have stopped: flush them here.
  for (auto& core : inline_cores_) core->flush(unix_now_ns());
  for (auto& shard : shards_) shard->stop();
  dispatcher_->stop();
  export_counters();
  for (auto& a : actions_) a->stop();
  dead_letters_->stop();
}

std::vector<ComponentStatus> Runtime::components() const {
  std::vector<ComponentStatus> out;
  const bool serving = serving_.load(std::memory_order_acquire);
  for (std::size_t i = 0; i < sources_.size(); ++i)
    out.push_back({source_names_[i], "source", serving ? sources_[i]->health() : Health::kConnecting});
  for (std::size_t i = 0; i < actions_.size(); ++i)
    out.push_back({action_names_[i], "action", serving ? actions_[i]->health() : Health::kConnecting});
  return out;
}

std::string Runtime::status() const {
  bool all_ok = true, any_source_up = sources_.empty();
  for (const auto& c : components()) {
    if (c.health != Health::kConnected) all_ok = false;
    if (c.kind == "source" && (c.health == Health::kConnected || c.health == Health::kDegraded)) any_source_up = true;
  }
  if (all_ok) return "ok";
  return any_source_up ? "degraded" : "down";
}

std::string Runtime::summary_line() {
  const int64_t now = mono_now_ns();
  double records = 0, raised = 0, cleared = 0, insights = 0;
  for (const auto& p : pipeline_names_) {
    records += metrics_.value("edgeloop_pipeline_records_total", {{"pipeline", p}});
    raised += metrics_.value("edgeloop_events_total", {{"pipeline", p}, {"kind", "alert_raised"}});
    cleared += metrics_.value("edgeloop_events_total", {{"pipeline", p}, {"kind", "alert_cleared"}});
    insights += metrics_.value("edgeloop_events_total", {{"pipeline", p}, {"kind", "insight"}});
  }
  const double secs = static_cast<double>(now - last_summary_ns_) * 1e-9;
  const double rate = secs > 0 ? (records - last_records_) / secs : 0;
  last_records_ = records;
  last_summary_ns_ = now;
  double p50 = 0, p99 = 0;
  uint64_t n = 0;
  for (const auto& p : pipeline_names_) {
    const Histogram* h = metrics_.find_histogram("edgeloop_event_latency_seconds", {{"pipeline", p}});
    if (h && h->count() > n) {  // the busiest pipeline's latency
      n = h->count();
      p50 = h->quantile_s(0.5);
      p99 = h->quantile_s(0.99);
    }
  }
  double event_backpressure = 0;  // every shard (or inline core) has its own series
  for (std::size_t i = 0; i < shards_.size() + inline_cores_.size(); ++i) {
    event_backpressure += metrics_.value("edgeloop_shard_event_backpressure_total", {{"shard", std::to_string(i)}});
  }
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "records %.0f (%.0f/s) | keys %zu | alerts raised %.0f cleared %.0f | insights %.0f | dead letters %.0f | "
                "back-pressure %.0f | latency p50 %.0f us p99 %.0f us | %s",
                records, rate, keys_->size(), raised, cleared, insights, metrics_.value("edgeloop_dead_letters_total"),
                backpressure_->value() + event_backpressure,
                p50 * 1e6, p99 * 1e6, status().c_str());
  return buf;
}

void Runtime::export_counters() {
  std::lock_guard lock(export_mu_);
  for (auto& shard : shards_) shard->core().export_counters();
  for (auto& core : inline_cores_) core->export_counters();
}

void Runtime::housekeeping_loop() {
  int64_t next_summary = settings_.summary_interval_ns > 0 ? mono_now_ns() + settings_.summary_interval_ns : 0;
  std::unique_lock lock(summary_mu_);
  while (!summary_stop_) {
    summary_cv_.wait_for(lock, std::chrono::nanoseconds(settings_.tick_ns), [&] { return summary_stop_; });
    if (summary_stop_) break;
    lock.unlock();
    export_counters();
    if (next_summary && mono_now_ns() >= next_summary) {
      spdlog::info("{}", summary_line());
      next_summary += settings_.summary_interval_ns;
    }
    lock.lock();
  }
}

}  // namespace edgeloop
