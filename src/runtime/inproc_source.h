// `source.inproc`: a source fed by code in the same process (benchmarks, tests, embedding):
// it declares a schema and hands its router output to whoever calls Runtime::source_context.
#pragma once

#include "core/registry.h"

namespace edgeloop {

void register_runtime(Registry& registry);

}  // namespace edgeloop
