#include "operators/builtins.h"

#include "operators/count_window.h"
#include "operators/filter_stage.h"
#include "operators/time_window.h"
#include "operators/window_spec.h"

namespace edgeloop {

namespace {

Result<std::unique_ptr<Stage>> make_window(const Options& opts, const StageContext& ctx) {
  if (!ctx.input) return opts.error("size", "the window has no input schema (a bug in the pipeline builder)");
  EDGELOOP_ASSIGN_OR_RETURN(WindowSpec spec, parse_window_spec(opts, *ctx.input));
  if (spec.time) return std::unique_ptr<Stage>(std::make_unique<TimeWindow>(std::move(spec), ctx));
  return std::unique_ptr<Stage>(std::make_unique<CountWindow>(std::move(spec)));
}

}  // namespace

void register_operators(Registry& registry) {
  registry.add_stage(window_info(), &make_window);
  registry.add_stage(FilterStage::info(), &FilterStage::create);
}

}  // namespace edgeloop
