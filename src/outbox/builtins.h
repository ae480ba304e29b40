// The outbox's plugins: action.upstream.
#pragma once

#include "core/registry.h"

namespace edgeloop {

void register_outbox(Registry& registry);

}  // namespace edgeloop
