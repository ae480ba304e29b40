// The store's plugins: `op.store` (a pipeline step that keeps the readings passing through)
// and `action.store` (keeps events).
#pragma once

#include "core/registry.h"

namespace edgeloop {

void register_store(Registry& registry);

}  // namespace edgeloop
