#include "operators/dsp/samples_stage.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>

#include "operators/dsp/stage_util.h"

namespace edgeloop::dsp {

PluginInfo SamplesStage::info() {
  PluginInfo p;
  p.name = "samples";
  p.summary =
      "Sample windows per key: `size` samples every `hop` samples over the key's sample blocks (from "
      "codec.json_samples or codec.binary), one record per full window, carrying the window as its block and "
      "the ts of its first sample.";
  p.shorthand = "size";
  p.options = {
      {.name = "size", .type = OptionType::kInt, .description = "Samples per window (a power of two for the spectral stages).",
       .required = true, .min = 2, .max = static_cast<double>(kMaxSize)},
      {.name = "hop", .type = OptionType::kInt,
       .description = "Samples between the starts of consecutive windows: `size` (the default) gives back-to-back "
                      "windows, size/2 50% overlap; more than `size` skips samples between windows.",
       .min = 1, .max = static_cast<double>(kMaxSize)},
      {.name = "max_gap", .type = OptionType::kDuration, .default_value = "0",
       .description = "When above 0: a block whose ts differs from the end of the key's previous block by more than "
                      "this drops the key's open windows and starts afresh (counted as reason `restart`). A change "
                      "of sample rate always does.",
       .min = 0},
  };
  return p;
}

Result<std::unique_ptr<Stage>> SamplesStage::create(const Options& opts, const StageContext& ctx) {
  if (!ctx.input) return opts.error("size", "the stage has no input schema (a bug in the pipeline builder)");
  SamplesConfig c;
  c.size = static_cast<std::size_t>(opts.integer("size"));
  c.hop = opts.has("hop") ? static_cast<std::size_t>(opts.integer("hop")) : c.size;
  c.max_gap_ns = opts.duration_ns("max_gap");
  return std::unique_ptr<Stage>(std::make_unique<SamplesStage>(c, *ctx.input, ctx));
}

SamplesStage::SamplesStage(SamplesConfig config, const Schema& input, const StageContext& ctx)
    : config_(config), schema_(input) {
  no_block_ = dsp_drop_counter(ctx, "no_block");
  restarts_ = dsp_drop_counter(ctx, "restart");
}

void SamplesStage::restart(Key& k, double rate) {
  k.started = true;
  k.rate = rate;
  k.seen = 0;
  k.next_start = 0;
  k.open.clear();
  if (!k.pool) k.pool = std::make_unique<BlockPool>((config_.size + config_.hop - 1) / config_.hop + 2);
}

void SamplesStage::emit(const Record& r, std::shared_ptr<const SampleBlock> block, int64_t ts, Emitter& out) {
  Record o = r;
  o.ts_ns = ts;
  o.block = std::move(block);
  ++windows_;
  out.forward(o);
}

void SamplesStage::process(const Record& r, Emitter& out) {
  const SampleBlock* b = r.block.get();
  if (!b || b->samples.empty() || !(b->sample_rate_hz > 0) || !std::isfinite(b->sample_rate_hz)) {
    bump(no_block_);
    return;
  }
  if (r.slot >= keys_.size()) keys_.resize(static_cast<std::size_t>(r.slot) + 1);
  Key& k = keys_[r.slot];
  const double rate = b->sample_rate_hz;
  const std::size_t n = b->samples.size();
  if (!k.started) {
    restart(k, rate);
  } else if (rate != k.rate || (config_.max_gap_ns > 0 && std::llabs(r.ts_ns - k.next_ts) > config_.max_gap_ns)) {
    bump(restarts_);
    restart(k, rate);
  }
  const double ns_per_sample = 1e9 / rate;
  const uint64_t first = k.seen;
  const uint64_t end = first + n;
  const std::size_t size = config_.size;

  // Open the windows that start within this block, in order.
  while (k.next_start < end) {
    const uint64_t off = k.next_start - first;
    Open o;
    o.start = k.next_start;
    o.ts = r.ts_ns + std::llround(static_cast<double>(off) * ns_per_sample);
    if (!(off == 0 && n == size)) o.block = k.pool->acquire(size, rate);
    k.open.push_back(std::move(o));
    k.next_start += config_.hop;
  }
  // Fill the open windows from this block; emit the complete ones (they are the oldest).
  std::size_t i = 0;
  while (i < k.open.size()) {
    Open& o = k.open[i];
    if (!o.block) {
      ++zero_copy_;
      emit(r, r.block, o.ts, out);
      k.open.erase(k.open.begin() + static_cast<std::ptrdiff_t>(i));
      continue;
    }
    const uint64_t from = o.start > first ? o.start : first;
    const uint64_t to = o.start + size < end ? o.start + size : end;
    if (from < to) {
      std::memcpy(o.block->samples.data() + (from - o.start), b->samples.data() + (from - first),
                  static_cast<std::size_t>(to - from) * sizeof(float));
    }
    if (o.start + size <= end) {
      std::shared_ptr<const SampleBlock> done = std::move(o.block);
      const int64_t ts = o.ts;
      k.open.erase(k.open.begin() + static_cast<std::ptrdiff_t>(i));
      emit(r, std::move(done), ts, out);
      continue;
    }
    ++i;
  }
  k.seen = end;
  k.next_ts = r.ts_ns + std::llround(static_cast<double>(n) * ns_per_sample);
}

}  // namespace edgeloop::dsp
