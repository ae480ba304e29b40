// `op.window` with `duration`: per key, windows [k*hop, k*hop + duration) of event time.
//
// State is a ring of panes per key: a pane is gcd(duration, hop) of event time with one
// accumulator per field (count, sum, Welford mean/M2, min, max, first, last), and a window is
// the merge of its duration/gcd panes when it closes. Panes rather than a ring of readings
// because the memory of a key is then fixed by the config (duration / gcd panes, bounded by
// kMaxPanes) and not by the data rate, which a window over time cannot know; and every
// aggregate offered merges exactly across panes. The cost is O(panes) per emitted window,
// paid once per hop, against O(1) per reading.
#pragma once

#include <cstdint>
#include <vector>

#include "core/metrics.h"
#include "core/plugin.h"
#include "operators/aggregates.h"
#include "operators/window_spec.h"

namespace edgeloop {

class TimeWindow final : public Stage {
 public:
  TimeWindow(WindowSpec spec, const StageContext& ctx);

  const Schema& output_schema() const override { return spec_.output; }
  void process(const Record& r, Emitter& out) override;
  // Closes the windows of quiet keys when `idle_close` is set.
  void tick(int64_t now_ns, Emitter& out) override;

  // Readings dropped for arriving after their windows closed (also in the metric).
  uint64_t late() const { return late_; }

 private:
  struct Pane {
    int64_t id = INT64_MIN;  // absolute pane number (ts / pane length); another id: stale
    uint64_t n = 0;
    int64_t first_ts = 0;
    int64_t last_ts = 0;
    int64_t last_recv = 0;
  };
  struct Key {
    bool active = false;
    KeyId key = kNoKey;
    uint16_t source = 0;
    int64_t open = 0;  // index k of the oldest window not yet emitted
    int64_t wm = 0;    // the newest event time seen
  };

  void grow(uint32_t slot);
  // Emits, in order, every window of the key that ends at or before `t`.
  void close_until(uint32_t slot, Key& k, int64_t t, Emitter& out);
  void emit_window(uint32_t slot, const Key& k, int64_t index, Emitter& out);
  std::size_t pane_at(uint32_t slot, int64_t id) const;

  WindowSpec spec_;
  std::size_t nf_ = 0;
  int64_t pane_ns_ = 0;  // gcd(duration, hop)
  int64_t panes_ = 0;    // panes per window: duration / pane_ns_
  std::vector<Key> keys_;
  std::vector<Pane> panes_state_;  // [slot][panes_]
  std::vector<FieldAcc> acc_;      // [slot][panes_][field]
  uint64_t late_ = 0;
  Counter* late_total_ = nullptr;  // null without metrics (unit tests)
};

}  // namespace edgeloop
