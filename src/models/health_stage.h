// `op.health`: a health index per key (asset) from a detector's score: the score smoothed
// over time (exponential, by event time or by records), its trend (an exponentially weighted
// least-squares slope, per hour of event time) and the time until the index reaches a
// threshold at that trend (remaining useful life; NaN while it is not rising). Appends
// `health_index`, `trend_per_h` and `time_to_threshold_s` to the forwarded records and emits
// them as insight events at most every `emit_every` of event time per key.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/plugin.h"
#include "core/registry.h"

namespace edgeloop {

struct HealthSettings {
  std::string name = "health";
  int field = 0;
  int64_t half_life_ns = -1;     // time constant of the smoothing (event time), or
  double half_life_records = 0;  // ... in records when half_life_ns < 0
  int64_t trend_ns = -1;         // time constant of the trend regression, or
  double trend_records = 0;      // ... in records
  double threshold = 0.8;
  int64_t emit_every_ns = 60'000'000'000;
  bool append = true;
};

// The per-key arithmetic, separate from the stage for tests.
class HealthIndex {
 public:
  explicit HealthIndex(const HealthSettings& s) : s_(s) {}
  void update(double score, int64_t ts_ns);
  double index() const { return h_; }
  double trend_per_s() const;  // NaN until two distinct times were seen
  double time_to_threshold_s() const;
  bool started() const { return started_; }

 private:
  HealthSettings s_;
  bool started_ = false;
  int64_t last_ts_ = 0;
  double h_ = 0;
  // Exponentially weighted sums for y = a + b t, with t in seconds relative to the latest point.
  double s0_ = 0, s1_ = 0, s2_ = 0, sy_ = 0, sty_ = 0;
};

class HealthStage final : public Stage {
 public:
  static PluginInfo info();
  static Result<std::unique_ptr<Stage>> create(const Options& opts, const StageContext& ctx);

  HealthStage(HealthSettings s, Schema output, Schema event_schema, const StageContext& ctx);
  const Schema& output_schema() const override { return schema_; }
  void process(const Record& r, Emitter& out) override;

 private:
  struct KeyState {
    bool live = false;
    int64_t last_emit = 0;
    bool emitted = false;
    std::unique_ptr<HealthIndex> index;
  };
  HealthSettings s_;
  Schema schema_;
  Schema event_schema_;
  const std::string* pipeline_name_ = nullptr;
  uint16_t pipeline_index_ = 0;
  uint16_t stage_index_ = 0;
  std::vector<KeyState> state_;
};

}  // namespace edgeloop
