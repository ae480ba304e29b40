// The detectors' state encoding is the state library's (state/byte_io.h): these names keep
// the detectors' `ByteWriter`/`ByteReader` (in edgeloop::models) as they were.
#pragma once

#include "state/byte_io.h"

namespace edgeloop::models {

using state::ByteReader;
using state::ByteWriter;

}  // namespace edgeloop::models
