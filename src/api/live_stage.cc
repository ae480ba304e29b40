#include "api/live_stage.h"

#include <time.h>

#include <cmath>

#include "api/builtins.h"

namespace edgeloop {

namespace {

int64_t coarse_mono_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);  // a vDSO read, no syscall: cheap per record
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace

PluginInfo LiveStage::info() {
  PluginInfo p;
  p.kind = "op";
  p.name = "live";
  p.summary =
      "Shows the records passing this point on the live dashboard and the API's streams (latest values, "
      "history, SSE feed); forwards every record unchanged. Decimated per key; never slows the pipeline "
      "(a full hand-off ring drops and counts in edgeloop_live_stage_dropped_total).";
  p.options = {
      {.name = "max_rate_hz", .type = OptionType::kNumber, .default_value = "10",
       .description = "At most this many readings per second per key go to the dashboard (0: every record).",
       .min = 0, .max = 1000},
      {.name = "name", .type = OptionType::kString, .default_value = "",
       .description = "The stream's stage name in the API (`stage` of /api/v1/streams), e.g. `features`; "
                      "default: `live<i>`, i the step's index in the pipeline (from 0)."},
      {.name = "ring", .type = OptionType::kInt, .default_value = "4096",
       .description = "Readings the hand-off ring to the live hub holds per shard; when full, readings drop.",
       .min = 16, .max = 1048576},
  };
  return p;
}

Result<std::unique_ptr<Stage>> LiveStage::create(const Options& opts, const StageContext& ctx, LiveBus& bus) {
  if (!ctx.input) return opts.error("name", "op.live has no input schema (a bug in the pipeline builder)");
  const double hz = opts.number("max_rate_hz");
  const int64_t interval = hz > 0 ? static_cast<int64_t>(std::llround(1e9 / hz)) : 0;
  std::string name = opts.str("name");
  if (name.empty()) name = "live" + std::to_string(ctx.stage_index);
  return std::unique_ptr<Stage>(
      new LiveStage(ctx, std::move(name), interval, static_cast<std::size_t>(opts.integer("ring")), bus));
}

LiveStage::LiveStage(const StageContext& ctx, std::string name, int64_t min_interval_ns, std::size_t ring,
                     LiveBus& bus)
    : schema_(ctx.input ? *ctx.input : Schema()),
      min_interval_ns_(min_interval_ns),
      channel_(std::make_shared<LiveChannel>(ring)),
      clock_(&coarse_mono_ns) {
  channel_->pipeline = ctx.pipeline;
  channel_->stage = std::move(name);
  channel_->fields = schema_.names();
  channel_->keys = ctx.keys;
  bus.add(channel_);
}

LiveStage::~LiveStage() { channel_->closed.store(true, std::memory_order_release); }

void LiveStage::process(const Record& r, Emitter& out) {
  if (r.slot >= next_ns_.size()) next_ns_.resize(std::max<std::size_t>(r.slot + 1u, next_ns_.size() * 2), 0);
  int64_t& next = next_ns_[r.slot];
  bool show = true;
  if (min_interval_ns_ > 0) {
    const int64_t now = clock_();
    show = now >= next;
    if (show) next = now + min_interval_ns_;
  }
  if (show) {
    LiveReading lr;
    lr.key = r.key;
    lr.nfields = r.nfields;
    lr.ts_ns = r.ts_ns;
    lr.f = r.f;
    if (!channel_->ring.try_push(std::move(lr))) {
      // Single writer: a plain store, like the shard's counters.
      channel_->dropped.store(channel_->dropped.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    }
  }
  out.forward(r);
}

void register_api(Registry& registry, LiveBus& bus) {
  registry.add_stage(LiveStage::info(), [&bus](const Options& opts, const StageContext& ctx) {
    return LiveStage::create(opts, ctx, bus);
  });
}

void register_api(Registry& registry) { register_api(registry, LiveBus::global()); }

}  // namespace edgeloop
