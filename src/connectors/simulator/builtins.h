// Registers the plant simulator: `source.simulator`.
#pragma once

#include "core/registry.h"

namespace edgeloop {

void register_simulator(Registry& registry);

}  // namespace edgeloop
