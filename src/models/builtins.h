// The models layer's plugins: `op.detect` (online anomaly detectors), `op.health`, and the
// trained-model runtimes `op.model.onnx` and `op.model.xgboost` (src/models/serving).
#pragma once

#include "core/registry.h"

namespace edgeloop {

void register_models(Registry& registry);

}  // namespace edgeloop
