// The HTTP ingest connector's plugin: source.http.
#pragma once

#include "core/registry.h"

namespace edgeloop {

// `registry` must outlive the sources it builds: source.http builds its codecs through it.
void register_http_ingest(Registry& registry);

}  // namespace edgeloop
