// The api layer's plugins: `op.live` (live_stage.h), fed to the process-wide LiveBus.
#pragma once

#include "core/registry.h"

namespace edgeloop {

class LiveBus;

void register_api(Registry& registry);
// The same, feeding `bus` instead of LiveBus::global() (tests).
void register_api(Registry& registry, LiveBus& bus);

}  // namespace edgeloop
