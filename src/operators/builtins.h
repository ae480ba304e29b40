// Registers the operators layer's stages (`op.window`, `op.filter`) with the registry.
#pragma once

#include "core/registry.h"

namespace edgeloop {

void register_operators(Registry& registry);

}  // namespace edgeloop
