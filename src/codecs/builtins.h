// The codecs layer's plugins: codec.json, codec.json_samples, codec.binary.
#pragma once

#include "core/registry.h"

namespace edgeloop {

void register_codecs(Registry& registry);

}  // namespace edgeloop
