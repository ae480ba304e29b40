// `op.rule`: a condition over a record's fields with hysteresis (`when` / `clear`), debounce
// (`for`: N records or a duration) and a cooldown between raises, per key. Emits alert events
// (raised, cleared) and forwards every record unchanged, so that rules can be chained.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/metrics.h"
#include "core/plugin.h"
#include "core/registry.h"
#include "rules/expression.h"

namespace edgeloop {


struct RuleConfig {
  std::string name = "rule";
  Expression when;
  Expression clear;
  uint32_t for_count = 1;   // used when for_ns < 0
  int64_t for_ns = -1;      // >= 0: `for` is a duration
  int64_t cooldown_ns = 0;
  Severity severity = Severity::kWarning;
  bool emit_cleared = true;
};

// Parses `for`: an integer >= 1 (consecutive records) or a duration with a unit ("10s").
// Sets for_count or for_ns of `cfg`; the error text names what is wrong.
Status parse_rule_for(std::string_view text, RuleConfig& cfg);

class RuleStage final : public Stage {
 public:
  // Validates the options against the input schema and compiles the expressions.
  static Result<std::unique_ptr<Stage>> create(const Options& opts, const StageContext& ctx);
  static PluginInfo info();

  RuleStage(RuleConfig cfg, const StageContext& ctx);

  const Schema& output_schema() const override { return schema_; }
  void process(const Record& r, Emitter& out) override;

  const RuleConfig& config() const { return cfg_; }
  // Whether the rule is raised for a slot (false for a slot never seen), for tests.
  bool raised(uint32_t slot) const { return slot < state_.size() && state_[slot].raised; }

 private:
  struct KeyState {
    int64_t since_ts = 0;       // event time of the first record of the current run of `when`
    int64_t last_raise_ts = 0;  // event time of the last raise (cooldown)
    uint32_t run = 0;           // consecutive records, while armed, for which `when` held
    bool raised = false;
    bool ever_raised = false;
  };
  void emit(const Record& r, AlertState state, Emitter& out) const;

  RuleConfig cfg_;
  Schema schema_;                            // = the input schema: records pass unchanged
  const Schema* input_ = nullptr;            // lives as long as the runtime: Event::schema
  const std::string* pipeline_name_ = nullptr;
  uint16_t pipeline_index_ = 0;
  uint16_t stage_index_ = 0;
  Counter* raised_total_ = nullptr;          // null without metrics (unit tests)
  Counter* cleared_total_ = nullptr;
  std::vector<KeyState> state_;              // by Record::slot
};

}  // namespace edgeloop
