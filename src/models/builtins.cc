#include "models/builtins.h"

#include "models/detect_stage.h"
#include "models/health_stage.h"
#include "models/serving/model_stage.h"

namespace edgeloop {

void register_models(Registry& registry) {
  registry.add_stage(DetectStage::info(), &DetectStage::create);
  registry.add_stage(HealthStage::info(), &HealthStage::create);
  models::register_model_stages(registry);  // op.model.onnx, op.model.xgboost
}

}  // namespace edgeloop
