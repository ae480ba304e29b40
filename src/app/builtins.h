// Every plugin edgeloop ships, in one registry.
#pragma once

#include "core/registry.h"

namespace edgeloop {

void register_all(Registry& registry);

}  // namespace edgeloop
