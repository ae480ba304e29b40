// The XGBoost backend (libxgboost's C API): regression (one output value per sample) and
// classification (one probability per class; binary:logistic gives [1-p, p]).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "core/result.h"
#include "models/infer/tensor_model.h"

namespace edgeloop::models {

// `features`: the expected number of features (0: as the model records it). The model's one
// input is named "features" with shape [-1, F]; its one output "y" has shape [-1, 1] or
// [-1, classes].
Result<std::unique_ptr<TensorModel>> load_xgboost_model(const std::string& path, int64_t features);

// Whether `model` (an XGBoost model) runs on the native tree walker (xgboost_trees.h) rather
// than the C API: JSON gbtree models whose outputs the walker reproduces at load.
bool xgboost_uses_native_trees(const TensorModel& model);

}  // namespace edgeloop::models
