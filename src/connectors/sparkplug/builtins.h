// The Sparkplug B connector's plugins: source.sparkplug (host application), action.sparkplug
// (edgeloop as an edge node) and action.sparkplug_command (NCMD/DCMD).
#pragma once

#include "core/registry.h"

namespace edgeloop {

void register_sparkplug(Registry& registry);

}  // namespace edgeloop
