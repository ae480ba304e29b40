// The actions layer's plugins: action.log. (action.mqtt_publish lives with the MQTT connector,
// connectors/mqtt/builtins.h, and uses this layer's templates.)
#pragma once

#include "core/registry.h"

namespace edgeloop {

void register_actions(Registry& registry);

}  // namespace edgeloop
