// Registers the DSP stages (`op.samples`, `op.features`, `op.envelope`) with the registry.
#pragma once

#include "core/registry.h"

namespace edgeloop {

void register_dsp(Registry& registry);

}  // namespace edgeloop
