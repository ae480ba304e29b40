// WorkerPool: the per-worker state of an HTTP intake's workers (a decoder with its codec, an
// image preprocessor), not thread-safe by itself: a request checks one out for its decoding
// and back in, so that `threads` HTTP workers decode in parallel without sharing one.
#pragma once

#include <condition_variable>
#include <mutex>
#include <vector>

namespace edgeloop {

template <class T>
class WorkerPool {
 public:
  // Adds an idle worker (owned elsewhere; it must outlive its use here).
  void add(T* worker) { checkin(worker); }

  // Waits for an idle worker (there is one per HTTP worker thread: the wait is short).
  T* checkout() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return !idle_.empty(); });
    T* w = idle_.back();
    idle_.pop_back();
    return w;
  }

  void checkin(T* worker) {
    {
      std::lock_guard lock(mu_);
      idle_.push_back(worker);
    }
    cv_.notify_one();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<T*> idle_;  // guarded by mu_
};

}  // namespace edgeloop
