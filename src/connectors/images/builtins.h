// The image connector's plugin: source.images.
#pragma once

#include "core/registry.h"

namespace edgeloop {

void register_images(Registry& registry);

}  // namespace edgeloop
