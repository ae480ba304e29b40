// The MQTT connector's plugins: source.mqtt and action.mqtt_publish.
#pragma once

#include "core/registry.h"

namespace edgeloop {

// `registry` must outlive the sources it builds: source.mqtt builds its codec through it.
void register_mqtt(Registry& registry);

}  // namespace edgeloop
