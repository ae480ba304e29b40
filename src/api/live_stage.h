// `op.live`: shows the records that pass it on the live dashboard. Placed anywhere in a
// pipeline (after features, after a detector); forwards every record unchanged and, at most
// `max_rate_hz` times a second per key, try-pushes a copy of its values to a bounded ring that
// the LiveHub drains. A full ring drops the reading and counts it: the shard never waits.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "api/live_hub.h"
#include "core/plugin.h"
#include "core/registry.h"

namespace edgeloop {

class LiveStage final : public Stage {
 public:
  static PluginInfo info();
  static Result<std::unique_ptr<Stage>> create(const Options& opts, const StageContext& ctx, LiveBus& bus);

  // min_interval_ns: the least time between two readings of one key (0: every record).
  LiveStage(const StageContext& ctx, std::string name, int64_t min_interval_ns, std::size_t ring, LiveBus& bus);
  ~LiveStage() override;

  const Schema& output_schema() const override { return schema_; }
  void process(const Record& r, Emitter& out) override;

  // For tests: the channel this instance feeds.
  const std::shared_ptr<LiveChannel>& channel() const { return channel_; }
  // The clock decimation uses (monotonic, coarse: a few ms); tests replace it.
  void set_clock(int64_t (*clock)()) { clock_ = clock; }

 private:
  Schema schema_;
  int64_t min_interval_ns_;
  std::shared_ptr<LiveChannel> channel_;
  std::vector<int64_t> next_ns_;  // by Record::slot: when the key may show again
  int64_t (*clock_)();
};

}  // namespace edgeloop
