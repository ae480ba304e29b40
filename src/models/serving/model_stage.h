// `op.model.onnx` and `op.model.xgboost`: run a trained model per record (or in micro-batches
// across keys) and emit its outputs as named values with the model's version. The input is
// the record's fields (a feature vector), its SampleBlock (a sample window, a sequence or an
// image, as the block's shape says), or the last N feature vectors of the key (a sequence,
// kept per key in a ring on the shard). The model comes from the ModelCatalog, which swaps
// in new versions from a watched folder; the stage picks a new version up at its next record.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/metrics.h"
#include "core/plugin.h"
#include "core/registry.h"
#include "models/serving/model_catalog.h"

namespace edgeloop::models {

enum class ModelInput { kFields, kBlock, kSequence };
enum class ModelEmit { kEvent, kFields, kBoth };

// What the pipeline feeds the model, for the load-time check.
struct InputSpec {
  ModelInput kind = ModelInput::kFields;
  int values = 0;                   // fields and sequence: values per feature vector
  int steps = 0;                    // sequence: feature vectors per sample
  std::vector<int64_t> block_shape;  // block: the configured shape (empty: checked per record)
  int batch = 1;                    // the stage's micro-batch
};

// Does the model's (first) input take what the pipeline gives? The error says precisely what
// does not, e.g. "model input 'x' wants [-1,30,14], the pipeline gives sequences of 30 x 13 values".
Status check_input_fit(const TensorModel& model, const InputSpec& in);

// Output values per sample (all outputs, in order).
int64_t output_value_count(const TensorModel& model);

// Registers op.model.onnx and op.model.xgboost.
void register_model_stages(Registry& registry);

}  // namespace edgeloop::models
