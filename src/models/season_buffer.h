// The readings of the last season (e.g. one day) by event time, to compare a reading with the
// one a season earlier. Grows to what a season holds (bounded), then reuses its memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "models/byte_io.h"

namespace edgeloop::models {

class SeasonBuffer {
 public:
  SeasonBuffer() = default;
  // `tolerance_ns`: how far from ts - season the reading found may be; `max_points` bounds memory.
  SeasonBuffer(int64_t season_ns, int64_t tolerance_ns, std::size_t max_points)
      : season_(season_ns), tol_(tolerance_ns), max_(max_points) {}

  // The reading closest to (at or before) ts - season, if one is within the tolerance; then
  // remembers (ts, x).
  std::optional<double> exchange(int64_t ts, double x);

  void save(ByteWriter& w) const;
  bool load(ByteReader& r);

 private:
  int64_t season_ = 0, tol_ = 0;
  std::size_t max_ = 0;
  std::vector<int64_t> ts_;
  std::vector<double> x_;
  std::size_t start_ = 0;  // first live entry
};

}  // namespace edgeloop::models
