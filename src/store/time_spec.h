// Times as people and scripts write them in queries (`--from`, `?from=`), to Unix ns.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace edgeloop::store {

// Accepts:
//   ISO-8601 / RFC 3339: 2024-11-25, 2024-11-25T12:00, 2024-11-25T12:00:05.250Z,
//     2024-11-25 12:00:05+01:00 (no zone: UTC; up to 9 fractional digits);
//   Unix time with a unit: 1732536000s, 1732536000000ms, 1732536000000000us, 1732536000000000000ns;
//   a bare integer: Unix ms below 1e15, Unix ns from 1e15 (a bare value below 1e11 is refused as
//     ambiguous: seconds were probably meant, write the `s`);
//   now, and now minus a duration: -15m, -2h, -7d (relative to `now_ns`).
// Errors are kInvalidArgument and quote the text.
Result<int64_t> parse_time_ns(std::string_view text, int64_t now_ns);

// 2024-11-25T12:00:05.250000000Z (UTC, nanoseconds) for messages and logs.
std::string format_time_utc(int64_t ns);

}  // namespace edgeloop::store
