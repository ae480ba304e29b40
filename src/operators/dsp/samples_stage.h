// `op.samples`: windows of `size` samples every `hop` samples over the sample blocks of each
// key (whatever the size of the blocks), each emitted as one record whose block holds the
// window and whose ts is that of the window's first sample.
//
// No ring buffer: each window being filled is its own (pooled) block, and an arriving block is
// copied once into every open window it overlaps, so a sample is copied size/hop times
// (ceil) and never moved again; a window that is exactly an arriving block (block size = size,
// aligned) is that block, shared, not copied. Blocks come from a small per-key pool and are
// reused once downstream has let go of them: no allocation per window once warm.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/metrics.h"
#include "core/plugin.h"
#include "core/registry.h"
#include "operators/dsp/block_pool.h"

namespace edgeloop::dsp {

struct SamplesConfig {
  std::size_t size = 4096;
  std::size_t hop = 4096;
  int64_t max_gap_ns = 0;  // > 0: a block whose ts is off by more than this restarts the key
};

class SamplesStage final : public Stage {
 public:
  static constexpr std::size_t kMaxSize = std::size_t{1} << 22;
  static PluginInfo info();
  static Result<std::unique_ptr<Stage>> create(const Options& opts, const StageContext& ctx);

  SamplesStage(SamplesConfig config, const Schema& input, const StageContext& ctx);

  const Schema& output_schema() const override { return schema_; }
  void process(const Record& r, Emitter& out) override;

  // Windows emitted, and those that were an arriving block passed on without a copy.
  uint64_t windows() const { return windows_; }
  uint64_t zero_copy_windows() const { return zero_copy_; }

 private:
  struct Open {
    std::shared_ptr<SampleBlock> block;  // null: the window is the arriving block itself
    uint64_t start = 0;                  // index of its first sample in the key's stream
    int64_t ts = 0;
  };
  struct Key {
    bool started = false;
    double rate = 0;
    uint64_t seen = 0;        // samples received since the (re)start
    uint64_t next_start = 0;  // stream index where the next window opens
    int64_t next_ts = 0;      // expected ts of the next block
    std::vector<Open> open;   // in order of start
    std::unique_ptr<BlockPool> pool;
  };

  void restart(Key& k, double rate);
  void emit(const Record& r, std::shared_ptr<const SampleBlock> block, int64_t ts, Emitter& out);

  SamplesConfig config_;
  Schema schema_;
  std::vector<Key> keys_;
  Counter* no_block_ = nullptr;
  Counter* restarts_ = nullptr;
  uint64_t windows_ = 0, zero_copy_ = 0;
};

}  // namespace edgeloop::dsp
