// A bounded single-producer single-consumer ring: the hand-off between threads.
// Wait-free; the two indices live on separate cache lines and each side caches the other's
// index, so a push or pop touches shared memory only when its cached view runs out.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <new>
#include <optional>
#include <utility>

namespace edgeloop {

inline constexpr std::size_t kCacheLine = 64;

template <class T>
class SpscRing {
 public:
  // capacity is rounded up to a power of two.
  explicit SpscRing(std::size_t capacity) {
    std::size_t cap = 2;
    while (cap < capacity) cap <<= 1;
    mask_ = cap - 1;
    slots_ = std::make_unique<T[]>(cap);
  }
  SpscRing(const SpscRing&) = delete;
  SpscRing& operator=(const SpscRing&) = delete;

  std::size_t capacity() const { return mask_ + 1; }

  // Producer side. Returns false when full (the caller counts the back-pressure).
  bool try_push(T&& v) {
    const std::size_t head = head_.load(std::memory_order_relaxed);
    if (head - tail_cache_ > mask_) {
      tail_cache_ = tail_.load(std::memory_order_acquire);
      if (head - tail_cache_ > mask_) return false;
    }
    slots_[head & mask_] = std::move(v);
    head_.store(head + 1, std::memory_order_release);
    return true;
  }
  bool try_push(const T& v) {
    T copy = v;
    return try_push(std::move(copy));
  }

  // Consumer side.
  bool try_pop(T& out) {
    const std::size_t tail = tail_.load(std::memory_order_relaxed);
    if (tail == head_cache_) {
      head_cache_ = head_.load(std::memory_order_acquire);
      if (tail == head_cache_) return false;
    }
    out = std::move(slots_[tail & mask_]);
    tail_.store(tail + 1, std::memory_order_release);
    return true;
  }

  // Consumer side: a pointer to the front element, or nullptr; pop() releases it.
  T* front() {
    const std::size_t tail = tail_.load(std::memory_order_relaxed);
    if (tail == head_cache_) {
      head_cache_ = head_.load(std::memory_order_acquire);
      if (tail == head_cache_) return nullptr;
    }
    return &slots_[tail & mask_];
  }
  void pop() { tail_.store(tail_.load(std::memory_order_relaxed) + 1, std::memory_order_release); }

  // Either side: an approximate size.
  std::size_t size_approx() const {
    return head_.load(std::memory_order_acquire) - tail_.load(std::memory_order_acquire);
  }
  bool empty_approx() const { return size_approx() == 0; }

 private:
  alignas(kCacheLine) std::atomic<std::size_t> head_{0};  // written by the producer
  std::size_t tail_cache_ = 0;                             // producer's view of tail_
  alignas(kCacheLine) std::atomic<std::size_t> tail_{0};  // written by the consumer
  std::size_t head_cache_ = 0;                             // consumer's view of head_
  alignas(kCacheLine) std::size_t mask_ = 0;
  std::unique_ptr<T[]> slots_;
};

}  // namespace edgeloop
