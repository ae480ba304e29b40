// The validated configuration of `op.window`, shared by its count and time variants.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/options.h"
#include "core/plugin.h"
#include "core/registry.h"
#include "operators/aggregates.h"

namespace edgeloop {

struct WindowSpec {
  std::vector<uint16_t> fields;  // input field indices, in output order
  std::vector<Agg> aggs;         // per field, in output order
  Schema output;                 // "<agg>" for one field, "<field>_<agg>" for several

  bool time = false;
  // Count windows.
  uint64_t size = 0;
  uint64_t hop = 0;
  bool partial = false;
  // Time windows (ns of event time).
  int64_t duration_ns = 0;
  int64_t hop_ns = 0;
  int64_t idle_close_ns = 0;

  bool needs_welford = false;  // stddev over growing accumulators
  bool needs_minmax = false;
  bool needs_ts = false;       // rate: the ts of the first reading in a sliding count window
};

// Bounds that keep a key's state small and a config typo from exhausting memory.
inline constexpr int64_t kMaxCountWindow = 1'000'000;
inline constexpr int64_t kMaxPanes = 4096;  // duration / gcd(duration, hop) of a time window

PluginInfo window_info();
Result<WindowSpec> parse_window_spec(const Options& opts, const Schema& input);

// "<pipeline>" and "<stage index>:<step name>" labels of stage metrics, as the runtime writes them.
Metrics::Labels stage_labels(const StageContext& ctx);

}  // namespace edgeloop
