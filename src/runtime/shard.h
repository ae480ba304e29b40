// A shard thread: drains one input ring per source into its ShardCore, ticks it, and sleeps
// on a Parker when there is nothing to do.
#pragma once

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "runtime/parker.h"
#include "runtime/shard_core.h"

namespace edgeloop {

struct ShardSettings {
  std::size_t ring_capacity = 65536;
  std::size_t event_capacity = 65536;
  int64_t tick_ns = 100'000'000;
  int64_t spin_ns = 20'000;  // poll this long before sleeping: a wake-up costs more than a short spin
};

class Shard {
 public:
  Shard(uint16_t index, std::size_t n_sources, const ShardSettings& settings, Metrics& metrics,
        Parker& dispatcher_parker);
  ~Shard();

  ShardCore& core() { return core_; }
  SpscRing<Record>& input(uint16_t source) { return *inputs_[source]; }
  Parker& parker() { return parker_; }

  void start();
  // Processes what is queued, then stops and joins.
  void stop();

 private:
  bool drain_once();
  void run();

  ShardSettings settings_;
  ShardCore core_;
  std::vector<std::unique_ptr<SpscRing<Record>>> inputs_;
  Parker parker_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// The RecordOutput a source pushes into: routes each record to its key's shard.
class ShardedOutput final : public RecordOutput {
 public:
  ShardedOutput(uint16_t source, std::vector<Shard*> shards, Counter& backpressure)
      : source_(source), shards_(std::move(shards)), backpressure_(backpressure) {}
  void push(Record&& r) override;

 private:
  uint16_t source_;
  std::vector<Shard*> shards_;
  Counter& backpressure_;
};

// Inline mode: the source's own thread runs the pipelines (no hand-off). On a machine with
// fewer cores than threads this saves a wake-up per record.
class InlineOutput final : public RecordOutput {
 public:
  InlineOutput(ShardCore& core, int64_t tick_ns) : core_(core), tick_ns_(tick_ns) {}
  void push(Record&& r) override;

 private:
  ShardCore& core_;
  int64_t tick_ns_;
  int64_t next_tick_ = 0;
  uint32_t since_clock_ = 0;
};

}  // namespace edgeloop
