// `op.window` with `size`: per key, the last `size` readings, emitted every `hop` readings.
// Sliding windows (hop < size) keep a ring of the readings per field with running sums and
// monotonic deques for min/max: O(1) per reading whatever the size. Tumbling and hopping
// windows (hop >= size) need no ring: an accumulator that restarts with each window.
#pragma once

#include <cstdint>
#include <vector>

#include "core/plugin.h"
#include "operators/aggregates.h"
#include "operators/window_spec.h"

namespace edgeloop {

class CountWindow final : public Stage {
 public:
  explicit CountWindow(WindowSpec spec);

  const Schema& output_schema() const override { return spec_.output; }
  void process(const Record& r, Emitter& out) override;

 private:
  // Per field of a sliding window: running sums of the finite readings in the window.
  struct Sums {
    double sum = 0;       // plain sum, for sum and mean
    double shift = 0;     // reference value for the variance sums (cancellation)
    double ssum = 0;      // sum of (x - shift)
    double qsum = 0;      // sum of (x - shift)^2
    uint32_t nonfinite = 0;  // NaN/inf readings in the window: then sums are recomputed
  };
  struct MonoEntry {
    double v;
    uint64_t idx;
  };
  // A monotonic deque of capacity `size` in a slice of entries_.
  struct Mono {
    uint32_t head = 0;
    uint32_t len = 0;
  };
  struct Key {
    uint64_t n = 0;            // readings seen
    uint64_t to_emit = 0;      // readings until the next emission
    uint32_t pos = 0;          // next write in the ring
    uint32_t evictions = 0;    // since the last recomputation of the sums
    // Tumbling: the open window.
    uint64_t phase = 0;        // position in the hop period
    int64_t first_ts = 0;
  };

  void grow(uint32_t slot);
  void process_sliding(const Record& r, Key& k, Emitter& out);
  void process_tumbling(const Record& r, Key& k, Emitter& out);
  void recompute(uint32_t slot, const Key& k);
  void mono_push(Mono& m, MonoEntry* e, double x, uint64_t idx, bool is_min) const;
  Summary sliding_summary(uint32_t slot, std::size_t fi, const Key& k, double last, int64_t last_ts) const;
  void emit(const Record& r, const Summary* sums, Emitter& out) const;

  WindowSpec spec_;
  std::size_t nf_ = 0;
  bool sliding_ = false;
  uint64_t first_emit_ = 0;  // readings before a key's first emission
  std::vector<Key> keys_;
  // Sliding state, by slot then field.
  std::vector<double> ring_;      // [slot][field][size]
  std::vector<int64_t> ts_ring_;  // [slot][size], for rate
  std::vector<Sums> sums_;        // [slot][field]
  std::vector<Mono> mono_;        // [slot][field][min, max]
  std::vector<MonoEntry> entries_;  // [slot][field][min, max][size]
  // Tumbling state.
  std::vector<FieldAcc> acc_;     // [slot][field]
};

}  // namespace edgeloop
