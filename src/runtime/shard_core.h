// The state and pipelines of one shard: every pipeline's stages for the keys routed here.
// Runs on exactly one thread (a shard thread, or the source thread in inline mode).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/metrics.h"
#include "core/plugin.h"
#include "core/registry.h"
#include "core/spsc_ring.h"
#include "runtime/parker.h"

namespace edgeloop {

// What the runtime knows of a pipeline when it builds the shards.
struct PipelinePlan {
  std::string name;
  uint16_t index = 0;
  uint16_t source = 0;
  const Schema* source_schema = nullptr;
  struct Step {
    std::string name;        // "window", "rule", ...
    const ConfigNode* node;  // its options (owned by the config document)
    std::string path;        // "pipelines.t1.steps[0].window"
  };
  std::vector<Step> steps;
  std::string state_dir;  // runtime.state_dir: StageContext::state_dir of its stages
};

class ShardCore {
 public:
  ShardCore(uint16_t index, std::size_t event_capacity, Metrics& metrics, Parker& dispatcher_parker);
  ShardCore(const ShardCore&) = delete;
  ShardCore& operator=(const ShardCore&) = delete;

  // Builds this shard's instance of a pipeline's stages.
  Status add_pipeline(const PipelinePlan& plan, const std::string* stable_name, const Registry& registry,
                      const KeyTable* keys);

  // Runs every pipeline of r.source on r (sets r.slot).
  void process(Record& r);
  // Periodic work of the stages (time windows close).
  void tick(int64_t unix_now_ns);
  // Stage::flush of every stage, pipelines in order and stages from first to last (so that
  // what an early stage emits on flush still passes the later ones). Once, at stop.
  void flush(int64_t unix_now_ns);
  // Adds what the counters gained since the last call to Metrics. Any one thread may call
  // it (the runtime's housekeeping thread), concurrently with process(): the per-record
  // counters are single-writer atomics, so counting costs the hot path a plain store.
  void export_counters();

  SpscRing<Event>& events() { return events_; }
  uint16_t index() const { return index_; }
  std::size_t keys() const { return n_slots_.load(std::memory_order_relaxed); }
  // The output schema of each stage of pipeline `p` (for the API's pipeline graph).
  const std::vector<std::unique_ptr<Stage>>* stages_of(uint16_t pipeline) const;

 private:
  // The Emitter handed to stage i: forwards to stage i+1, emits into the event ring.
  class Link final : public Emitter {
   public:
    void forward(const Record& r) override {
      forwarded.store(forwarded.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
      if (next) next->process(r, *next_link);
    }
    void emit(Event&& e) override { core->emit(std::move(e)); }
    Stage* next = nullptr;
    Link* next_link = nullptr;
    ShardCore* core = nullptr;
    std::atomic<uint64_t> forwarded{0};
  };
  struct Chain {
    uint16_t pipeline = 0;
    std::vector<std::unique_ptr<Stage>> stages;
    std::unique_ptr<Link[]> links;
    std::atomic<uint64_t> in{0};
    uint64_t in_exported = 0;  // exporter's
    std::vector<uint64_t> out_exported;
    Counter* in_counter = nullptr;
    std::vector<Counter*> out_counters;
  };

  void emit(Event&& e);

  uint16_t index_;
  Metrics& metrics_;
  Parker& dispatcher_parker_;
  SpscRing<Event> events_;
  std::vector<std::vector<Chain*>> by_source_;
  std::vector<std::unique_ptr<Chain>> chains_;
  std::vector<uint32_t> slot_of_;  // KeyId -> slot + 1 (0: not seen on this shard)
  std::atomic<uint32_t> n_slots_{0};
  std::atomic<uint64_t> event_waits_{0};
  uint64_t event_waits_exported_ = 0;  // exporter's
  Counter* event_waits_counter_ = nullptr;
  Gauge* keys_gauge_ = nullptr;
};

}  // namespace edgeloop
