// Test helpers for pipeline stages: config nodes built in code, stages built through the
// registry as the runtime builds them, emitters that collect or chain.
#pragma once

#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "core/plugin.h"
#include "core/registry.h"
#include "operators/builtins.h"
#include "rules/builtins.h"
#include "../support/options_node.h"

namespace edgeloop::testing {

inline const Registry& registry() {
  static const Registry r = [] {
    Registry reg;
    register_operators(reg);
    register_rules(reg);
    return reg;
  }();
  return r;
}

inline const std::string* pipeline_name() {
  static const std::string name = "p";
  return &name;
}

// Builds step `step` from `reg` with `input` as its input schema, which must outlive the stage.
inline Result<std::unique_ptr<Stage>> make_stage_in(const Registry& reg, const std::string& step, const ConfigNode& node,
                                                    const Schema& input, Metrics* metrics = nullptr,
                                                    uint16_t stage_index = 0) {
  StageContext ctx;
  ctx.pipeline = "p";
  ctx.pipeline_name = pipeline_name();
  ctx.name = step;
  ctx.pipeline_index = 3;
  ctx.stage_index = stage_index;
  ctx.input = &input;
  ctx.metrics = metrics;
  return reg.make_stage(step, node, "pipelines.p.steps[" + std::to_string(stage_index) + "]." + step, ctx);
}

// The same for the operators and rules (window, rule, filter).
inline Result<std::unique_ptr<Stage>> make_stage(const std::string& step, const ConfigNode& node, const Schema& input,
                                                 Metrics* metrics = nullptr, uint16_t stage_index = 0) {
  return make_stage_in(registry(), step, node, input, metrics, stage_index);
}

// Collects what a stage forwards and emits.
class Collect final : public Emitter {
 public:
  void forward(const Record& r) override { records.push_back(r); }
  void emit(Event&& e) override { events.push_back(std::move(e)); }
  std::vector<Record> records;
  std::vector<Event> events;
};

// Forwards into the next stage (as the runtime's links do); events go to `events`.
class Link final : public Emitter {
 public:
  Link(Stage& next, Emitter& next_out, Collect& events) : next_(next), next_out_(next_out), events_(events) {}
  void forward(const Record& r) override { next_.process(r, next_out_); }
  void emit(Event&& e) override { events_.emit(std::move(e)); }

 private:
  Stage& next_;
  Emitter& next_out_;
  Collect& events_;
};

inline constexpr int64_t kSec = 1'000'000'000;

// A record of key/slot `slot` with event time `ts` and receive time ts + 7 ns.
inline Record rec(uint32_t slot, int64_t ts, std::initializer_list<double> values) {
  Record r;
  r.key = 100 + slot;
  r.slot = slot;
  r.source = 2;
  r.ts_ns = ts;
  r.recv_ns = ts + 7;
  for (double v : values) r.f[r.nfields++] = v;
  return r;
}

}  // namespace edgeloop::testing
