// Small helpers shared by the DSP stages.
#pragma once

#include <string>

#include "core/metrics.h"
#include "core/plugin.h"

namespace edgeloop::dsp {

inline Metrics::Labels dsp_stage_labels(const StageContext& ctx, const std::string& reason) {
  return {{"pipeline", ctx.pipeline}, {"stage", std::to_string(ctx.stage_index) + ":" + ctx.name}, {"reason", reason}};
}

// A counter of records a stage could not use, or null without metrics.
inline Counter* dsp_drop_counter(const StageContext& ctx, const std::string& reason) {
  if (!ctx.metrics) return nullptr;
  return &ctx.metrics->counter("edgeloop_stage_dropped_total",
                               "Records a DSP stage could not use, by reason (no_block: no samples; "
                               "bad_block: wrong size or rate for the stage; restart: a key's windows "
                               "restarted after a gap or a change of sample rate).",
                               dsp_stage_labels(ctx, reason));
}

inline void bump(Counter* c, uint64_t n = 1) {
  if (c) c->add(n);
}

}  // namespace edgeloop::dsp
