// `op.filter`: forwards the records for which an expression holds (`when: "v > 0"`), using
// the rules layer's expression engine.
#pragma once

#include <memory>

#include "core/plugin.h"
#include "core/registry.h"
#include "rules/expression.h"

namespace edgeloop {

class FilterStage final : public Stage {
 public:
  static PluginInfo info();
  static Result<std::unique_ptr<Stage>> create(const Options& opts, const StageContext& ctx);

  FilterStage(Expression when, const Schema& input) : when_(std::move(when)), schema_(input) {}

  const Schema& output_schema() const override { return schema_; }
  void process(const Record& r, Emitter& out) override {
    if (when_.test(r.f.data())) out.forward(r);
  }

 private:
  Expression when_;
  Schema schema_;  // = the input schema: records pass unchanged
};

}  // namespace edgeloop
