// Registers the rules layer's stages (`op.rule`) with the registry.
#pragma once

#include "core/registry.h"

namespace edgeloop {

void register_rules(Registry& registry);

}  // namespace edgeloop
