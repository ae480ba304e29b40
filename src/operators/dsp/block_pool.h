// Recycles SampleBlocks so that stages emitting blocks do not allocate per window once warm.
// A block is free again when the pool holds its only reference (every record that carried it
// is gone). Shard-thread only: the blocks a pool hands out must not be kept by other threads
// (a sink that keeps one simply makes the pool allocate another).
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "core/record.h"

namespace edgeloop::dsp {

class BlockPool {
 public:
  // Keeps at most `capacity` blocks; past that, acquire() allocates blocks it does not keep.
  explicit BlockPool(std::size_t capacity) : capacity_(capacity) {}

  // A block with `size` samples (contents unspecified) and the given sample rate.
  std::shared_ptr<SampleBlock> acquire(std::size_t size, double sample_rate_hz);

  std::size_t pooled() const { return blocks_.size(); }
  std::size_t allocations() const { return allocations_; }

 private:
  std::size_t capacity_;
  std::size_t next_ = 0;
  std::size_t allocations_ = 0;
  std::vector<std::shared_ptr<SampleBlock>> blocks_;
};

}  // namespace edgeloop::dsp
