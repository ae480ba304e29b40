// Time in edgeloop: int64 nanoseconds. Event time and receive time are Unix time
// (CLOCK_REALTIME) so they can be compared with timestamps in payloads; durations that must
// not jump use the monotonic clock.
#pragma once

#include <cstdint>
#include <ctime>

namespace edgeloop {

inline int64_t unix_now_ns() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

inline int64_t mono_now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

inline constexpr int64_t kNsPerUs = 1'000;
inline constexpr int64_t kNsPerMs = 1'000'000;
inline constexpr int64_t kNsPerSec = 1'000'000'000;

}  // namespace edgeloop
