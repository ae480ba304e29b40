// Lets a consumer thread sleep when its rings are empty and a producer wake it only then.
// The consumer announces sleep, re-checks its rings, then waits on a futex (with a timeout
// for its periodic work); the producer, after a push, wakes it only when it announced sleep,
// so a busy pipeline costs no system call per record.
#pragma once

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <ctime>

namespace edgeloop {

class Parker {
 public:
  // A full barrier between a store and a later load. TSan does not model
  // atomic_thread_fence; under it, a seq_cst read-modify-write of our own word (also a full
  // barrier on x86) stands in, so TSan sees the same ordering the fence gives.
  void full_fence() {
#if defined(__SANITIZE_THREAD__)
    state_.fetch_or(0, std::memory_order_seq_cst);
#else
    std::atomic_thread_fence(std::memory_order_seq_cst);
#endif
  }

  // Consumer: call before the last check for work.
  void prepare_park() {
    state_.store(1, std::memory_order_seq_cst);
    full_fence();
  }
  // Consumer: work was found after prepare_park.
  void cancel_park() { state_.store(0, std::memory_order_relaxed); }
  // Consumer: sleep until woken or the timeout passes.
  void park(int64_t timeout_ns) {
    timespec ts{static_cast<time_t>(timeout_ns / 1'000'000'000), static_cast<long>(timeout_ns % 1'000'000'000)};
    syscall(SYS_futex, reinterpret_cast<uint32_t*>(&state_), FUTEX_WAIT_PRIVATE, 1u, &ts, nullptr, 0);
    state_.store(0, std::memory_order_relaxed);
  }
  // Producer: after a push.
  void wake() {
    full_fence();
    if (state_.load(std::memory_order_relaxed) != 0) {
      state_.store(0, std::memory_order_relaxed);
      syscall(SYS_futex, reinterpret_cast<uint32_t*>(&state_), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
      wakes_.fetch_add(1, std::memory_order_relaxed);
    }
  }
  uint64_t wakes() const { return wakes_.load(std::memory_order_relaxed); }

 private:
  static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t));
  std::atomic<uint32_t> state_{0};
  std::atomic<uint64_t> wakes_{0};
};

}  // namespace edgeloop
