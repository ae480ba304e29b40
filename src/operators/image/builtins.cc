#include "operators/image/builtins.h"

#include "operators/image/inspect_stage.h"

namespace edgeloop {

void register_image_operators(Registry& registry) { registry.add_stage(InspectStage::info(), &InspectStage::create); }

}  // namespace edgeloop
