// The Modbus TCP connector's plugins: source.modbus and action.modbus_write.
#pragma once

#include "core/registry.h"

namespace edgeloop {

void register_modbus(Registry& registry);

}  // namespace edgeloop
