// The OPC UA connector's plugins: source.opcua and action.opcua_write.
#pragma once

#include "core/registry.h"

namespace edgeloop {

void register_opcua(Registry& registry);

}  // namespace edgeloop
