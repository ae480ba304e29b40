// The visual inspection stages: op.inspect.
#pragma once

#include "core/registry.h"

namespace edgeloop {

void register_image_operators(Registry& registry);

}  // namespace edgeloop
