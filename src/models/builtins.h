// The models layer's plugins: `op.detect` (online anomaly detectors) and `op.health`.
#pragma once

#include "core/registry.h"

namespace edgeloop {

void register_models(Registry& registry);

}  // namespace edgeloop
