#include "runtime/shard_core.h"

#include <thread>

namespace edgeloop {

ShardCore::ShardCore(uint16_t index, std::size_t event_capacity, Metrics& metrics, Parker& dispatcher_parker)
    : index_(index), metrics_(metrics), dispatcher_parker_(dispatcher_parker), events_(event_capacity) {
  const std::string shard = std::to_string(index);
  event_waits_counter_ = &metrics_.counter("edgeloop_shard_event_backpressure_total",
                                           "Times a shard waited because the event ring to the dispatcher was full.",
                                           {{"shard", shard}});
  keys_gauge_ = &metrics_.gauge("edgeloop_shard_keys", "Distinct keys whose state a shard holds.", {{"shard", shard}});
}

Status ShardCore::add_pipeline(const PipelinePlan& plan, const std::string* stable_name, const Registry& registry,
                               const KeyTable* keys) {
  auto chain = std::make_unique<Chain>();
  chain->pipeline = plan.index;
  const Schema* input = plan.source_schema;
  for (std::size_t i = 0; i < plan.steps.size(); ++i) {
    const auto& step = plan.steps[i];
    StageContext ctx;
    ctx.pipeline = plan.name;
    ctx.pipeline_name = stable_name;
    ctx.name = step.name;
    ctx.pipeline_index = plan.index;
    ctx.stage_index = static_cast<uint16_t>(i);
    ctx.input = input;
    ctx.metrics = &metrics_;
    ctx.keys = keys;
    ctx.state_dir = plan.state_dir;
    EDGELOOP_ASSIGN_OR_RETURN(auto stage, registry.make_stage(step.name, *step.node, step.path, ctx));
    input = &stage->output_schema();
    chain->stages.push_back(std::move(stage));
  }
  const std::size_t n = chain->stages.size();
  chain->links = std::make_unique<Link[]>(n);
  for (std::size_t i = 0; i < n; ++i) {
    chain->links[i].core = this;
    if (i + 1 < n) {
      chain->links[i].next = chain->stages[i + 1].get();
      chain->links[i].next_link = &chain->links[i + 1];
    }
  }
  chain->in_counter = &metrics_.counter("edgeloop_pipeline_records_total", "Records that entered a pipeline.",
                                        {{"pipeline", plan.name}});
  for (std::size_t i = 0; i < n; ++i) {
    chain->out_counters.push_back(&metrics_.counter(
        "edgeloop_stage_out_total", "Records a stage passed on to the next one.",
        {{"pipeline", plan.name}, {"stage", std::to_string(i) + ":" + plan.steps[i].name}}));
  }
  chain->out_exported.assign(n, 0);
  if (by_source_.size() <= plan.source) by_source_.resize(plan.source + 1u);
  by_source_[plan.source].push_back(chain.get());
  chains_.push_back(std::move(chain));
  return Status::Ok();
}

const std::vector<std::unique_ptr<Stage>>* ShardCore::stages_of(uint16_t pipeline) const {
  for (const auto& c : chains_)
    if (c->pipeline == pipeline) return &c->stages;
  return nullptr;
}

void ShardCore::process(Record& r) {
  if (r.source >= by_source_.size()) return;
  if (r.key >= slot_of_.size()) slot_of_.resize(std::max<std::size_t>(r.key + 1u, slot_of_.size() * 2), 0);
  uint32_t& slot = slot_of_[r.key];
  if (slot == 0) {
    slot = n_slots_.load(std::memory_order_relaxed) + 1;
    n_slots_.store(slot, std::memory_order_relaxed);
  }
  r.slot = slot - 1;
  for (Chain* c : by_source_[r.source]) {
    c->in.store(c->in.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    c->stages.front()->process(r, c->links[0]);
  }
}

void ShardCore::emit(Event&& e) {
  if (!events_.try_push(std::move(e))) {
    // Alerts and commands are never dropped: wait for the dispatcher, and count it.
    event_waits_.fetch_add(1, std::memory_order_relaxed);
    do {
      dispatcher_parker_.wake();
      std::this_thread::yield();
    } while (!events_.try_push(std::move(e)));
  }
  dispatcher_parker_.wake();
}

void ShardCore::tick(int64_t unix_now_ns) {
  for (auto& c : chains_) {
    for (std::size_t i = 0; i < c->stages.size(); ++i) c->stages[i]->tick(unix_now_ns, c->links[i]);
  }
}

void ShardCore::flush(int64_t unix_now_ns) {
  for (auto& c : chains_) {
    for (std::size_t i = 0; i < c->stages.size(); ++i) c->stages[i]->flush(unix_now_ns, c->links[i]);
  }
}

void ShardCore::export_counters() {
  for (auto& c : chains_) {
    const uint64_t in = c->in.load(std::memory_order_relaxed);
    c->in_counter->add(in - c->in_exported);
    c->in_exported = in;
    for (std::size_t i = 0; i < c->stages.size(); ++i) {
      const uint64_t f = c->links[i].forwarded.load(std::memory_order_relaxed);
      c->out_counters[i]->add(f - c->out_exported[i]);
      c->out_exported[i] = f;
    }
  }
  const uint64_t waits = event_waits_.load(std::memory_order_relaxed);
  event_waits_counter_->add(waits - event_waits_exported_);
  event_waits_exported_ = waits;
  keys_gauge_->set(n_slots_.load(std::memory_order_relaxed));
}

}  // namespace edgeloop
