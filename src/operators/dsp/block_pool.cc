#include "operators/dsp/block_pool.h"

namespace edgeloop::dsp {

std::shared_ptr<SampleBlock> BlockPool::acquire(std::size_t size, double sample_rate_hz) {
  // Round robin from where the last search stopped: the oldest blocks are the likeliest free.
  for (std::size_t i = 0; i < blocks_.size(); ++i) {
    std::size_t j = next_ + i;
    if (j >= blocks_.size()) j -= blocks_.size();
    if (blocks_[j].use_count() == 1) {
      next_ = j + 1 == blocks_.size() ? 0 : j + 1;
      SampleBlock& b = *blocks_[j];
      b.samples.resize(size);
      b.sample_rate_hz = sample_rate_hz;
      return blocks_[j];
    }
  }
  ++allocations_;
  auto b = std::make_shared<SampleBlock>();
  b->samples.resize(size);
  b->sample_rate_hz = sample_rate_hz;
  if (blocks_.size() < capacity_) blocks_.push_back(b);
  return b;
}

}  // namespace edgeloop::dsp
