#include "runtime/shard.h"

#include <immintrin.h>

#include "core/clock.h"

namespace edgeloop {

Shard::Shard(uint16_t index, std::size_t n_sources, const ShardSettings& settings, Metrics& metrics,
             Parker& dispatcher_parker)
    : settings_(settings), core_(index, settings.event_capacity, metrics, dispatcher_parker) {
  for (std::size_t i = 0; i < n_sources; ++i) inputs_.push_back(std::make_unique<SpscRing<Record>>(settings.ring_capacity));
}

Shard::~Shard() { stop(); }

void Shard::start() {
  if (thread_.joinable()) return;
  stop_.store(false);
  thread_ = std::thread([this] { run(); });
}

void Shard::stop() {
  if (!thread_.joinable()) return;
  stop_.store(true);
  parker_.wake();
  // wake() only signals a parked thread; make sure a thread about to park sees stop_ soon:
  // it parks with a timeout of at most one tick.
  thread_.join();
}

bool Shard::drain_once() {
  bool got = false;
  for (auto& ring : inputs_) {
    // A bounded batch per ring keeps sources fair to each other.
    for (int i = 0; i < 256; ++i) {
      Record* r = ring->front();
      if (!r) break;
      core_.process(*r);
      r->block.reset();
      ring->pop();
      got = true;
    }
  }
  return got;
}

void Shard::run() {
  int64_t next_tick = mono_now_ns() + settings_.tick_ns;
  while (true) {
    const bool got = drain_once();
    const int64_t now = mono_now_ns();
    if (now >= next_tick) {
      core_.tick(unix_now_ns());
      next_tick = now + settings_.tick_ns;
    }
    if (got) continue;
    if (stop_.load(std::memory_order_acquire)) {
      if (drain_once()) continue;
      core_.flush(unix_now_ns());
      break;
    }
    // Nothing queued: spin briefly, then sleep until woken or the next tick.
    const int64_t spin_until = now + settings_.spin_ns;
    bool found = false;
    while (mono_now_ns() < spin_until) {
      for (auto& ring : inputs_) found = found || !ring->empty_approx();
      if (found || stop_.load(std::memory_order_relaxed)) break;
      _mm_pause();
    }
    if (found) continue;
    parker_.prepare_park();
    for (auto& ring : inputs_) found = found || !ring->empty_approx();
    if (found || stop_.load(std::memory_order_acquire)) {
      parker_.cancel_park();
      continue;
    }
    const int64_t wait = next_tick - mono_now_ns();
    parker_.park(wait > 0 ? wait : 1);
  }
}

void ShardedOutput::push(Record&& r) {
  Shard& shard = *shards_[shards_.size() == 1 ? 0 : r.key % shards_.size()];
  SpscRing<Record>& ring = shard.input(source_);
  if (!ring.try_push(std::move(r))) {
    // The shard is behind: wait (the source's input queues up upstream, e.g. in the broker),
    // and count it. Nothing is dropped.
    backpressure_.add();
    do {
      shard.parker().wake();
      std::this_thread::yield();
    } while (!ring.try_push(std::move(r)));
  }
  shard.parker().wake();
}

void InlineOutput::push(Record&& r) {
  core_.process(r);
  // Reading the clock every record would cost more than the pipeline; every 64 is enough
  // for a tick interval of milliseconds.
  if (++since_clock_ >= 64) {
    since_clock_ = 0;
    const int64_t now = mono_now_ns();
    if (now >= next_tick_) {
      core_.tick(unix_now_ns());
      next_tick_ = now + tick_ns_;
    }
  }
}

}  // namespace edgeloop
