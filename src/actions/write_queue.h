// The hand-off between an action's dispatch-thread on_event and its own writer thread, for
// actions that write to a device one job at a time (action.modbus_write, action.opcua_write):
// a bounded FIFO (full: the new job is dropped and counted), a job that stays in front while
// its connection is rebuilt, and sleeps that end when the action stops.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>

#include "core/metrics.h"

namespace edgeloop {

template <class Job>
class WriteQueue {
 public:
  // Before the writer thread starts: the bound and the counter of dropped jobs.
  void reset(std::size_t max_pending, Counter* dropped) {
    std::lock_guard lock(mu_);
    max_pending_ = max_pending;
    dropped_ = dropped;
    stopping_ = false;
  }

  // Dispatch thread. False (and counted) when full.
  bool push(Job job) {
    {
      std::lock_guard lock(mu_);
      if (queue_.size() >= max_pending_) {
        if (dropped_) dropped_->add();
        return false;
      }
      queue_.push_back(std::move(job));
    }
    cv_.notify_one();
    return true;
  }

  // Writer thread: a copy of the front job once there is one, waiting at most `timeout`
  // (nullopt on time-out or when stopping: ask stopping()).
  template <class Rep, class Period>
  std::optional<Job> wait_front(std::chrono::duration<Rep, Period> timeout) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, timeout, [this] { return stopping_ || !queue_.empty(); });
    if (stopping_ || queue_.empty()) return std::nullopt;
    return queue_.front();
  }

  // Writer thread: the front job is done (pop) or is to be retried with its new state.
  void pop_front() {
    std::lock_guard lock(mu_);
    if (!queue_.empty()) queue_.pop_front();
  }
  void replace_front(const Job& job) {
    std::lock_guard lock(mu_);
    if (!queue_.empty()) queue_.front() = job;
  }

  // Writer thread: false when stopping (at once, or during the wait).
  template <class Rep, class Period>
  bool sleep_for(std::chrono::duration<Rep, Period> d) {
    std::unique_lock lock(mu_);
    return !cv_.wait_for(lock, d, [this] { return stopping_; });
  }

  bool stopping() const {
    std::lock_guard lock(mu_);
    return stopping_;
  }

  // Wakes the writer to end; returns the jobs not done.
  std::size_t stop() {
    std::size_t left = 0;
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
      left = queue_.size();
    }
    cv_.notify_all();
    return left;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  std::size_t max_pending_ = 1;
  Counter* dropped_ = nullptr;
  bool stopping_ = false;
};

}  // namespace edgeloop
