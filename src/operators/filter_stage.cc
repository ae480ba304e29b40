#include "operators/filter_stage.h"

namespace edgeloop {

PluginInfo FilterStage::info() {
  PluginInfo p;
  p.name = "filter";
  p.summary = "Forwards only the records for which an expression over their fields holds; drops the others.";
  p.shorthand = "when";
  p.options = {
      {.name = "when", .type = OptionType::kString,
       .description = "Condition over the input fields (e.g. `v > 0 and v < 1000`): numbers, + - * /, comparisons, "
                      "and/or/not, abs(), min(), max(). A record passes when it is neither 0 nor NaN.",
       .required = true},
  };
  return p;
}

Result<std::unique_ptr<Stage>> FilterStage::create(const Options& opts, const StageContext& ctx) {
  if (!ctx.input) return opts.error("when", "the filter has no input schema (a bug in the pipeline builder)");
  auto when = Expression::compile(opts.str("when"), *ctx.input);
  if (!when.ok()) return opts.error("when", when.error().message);
  return std::unique_ptr<Stage>(std::make_unique<FilterStage>(std::move(*when), *ctx.input));
}

}  // namespace edgeloop
