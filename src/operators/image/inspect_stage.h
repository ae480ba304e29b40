// `op.inspect`: the pass/fail decision of visual inspection, per image, with its latency
// budget. It reads a classifier's class scores from the record (the fields a `model.onnx`
// stage appended with `emit: fields`), turns them into p_defect = 1 - P(pass class) (softmax
// first when the scores are logits), and
//   - appends `p_defect`, `fail` (0/1), `latency_ms` (receive -> decision) and `late` (0/1:
//     over `budget`) to the record it forwards (a `rule` after it can use them);
//   - emits one event per failing image (a command, or a raised alert: `kind`), so that each
//     defective part gets its reject command even when defects come back to back on one key
//     (a rule's hysteresis would merge them);
//   - counts images by result, late ones (edgeloop_inspection_late_total) and the latency.
// Never blocks, allocates nothing per record.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/metrics.h"
#include "core/plugin.h"
#include "core/registry.h"

namespace edgeloop {

struct InspectConfig {
  std::vector<int> classes;  // input field indices of the class scores, in the model's order
  int pass_index = 0;        // which of `classes` is the good one
  enum class Scores { kAuto, kProbabilities, kLogits } scores = Scores::kAuto;
  double threshold = 0.5;  // fail when p_defect > threshold
  int64_t budget_ns = 0;   // 0: no budget
  enum class Emit { kFail, kAll, kNone } emit = Emit::kFail;
  EventKind kind = EventKind::kCommand;
  std::string name = "inspect";
};

// p_defect from the class scores (softmax applied per `scores`; auto: when the values are not
// already probabilities, i.e. some lie outside [0, 1] or they do not sum to 1 within 1e-3).
double defect_probability(const double* scores, int n, int pass_index, InspectConfig::Scores mode);

// What op.inspect takes from a model's JSON sidecar (tools/train/magnetic_tile.py writes one).
struct InspectSidecar {
  std::vector<std::string> classes;
  std::string pass_class;
  double pass_threshold = -1;  // fail when P(pass class) < this; < 0: none given
};
Result<InspectSidecar> read_inspect_sidecar(const std::string& path);

class InspectStage final : public Stage {
 public:
  static PluginInfo info();
  static Result<std::unique_ptr<Stage>> create(const Options& opts, const StageContext& ctx);

  InspectStage(InspectConfig config, const StageContext& ctx);
  const Schema& output_schema() const override { return schema_; }
  void process(const Record& r, Emitter& out) override;

 private:
  InspectConfig cfg_;
  Schema schema_;  // the input's fields + p_defect, fail, latency_ms, late
  int first_ = 0;  // index of p_defect in the output
  const std::string* pipeline_name_ = nullptr;
  uint16_t pipeline_index_ = 0;
  uint16_t stage_index_ = 0;
  std::unique_ptr<Metrics> own_metrics_;
  Counter* pass_total_ = nullptr;
  Counter* fail_total_ = nullptr;
  Counter* late_total_ = nullptr;
  Histogram* latency_ = nullptr;
};

}  // namespace edgeloop
