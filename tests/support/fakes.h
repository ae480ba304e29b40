// Fakes of the runtime's interfaces for connector and action tests: a RecordOutput and a
// DeadLetterSink that collect what they get, thread-safe, with waits that have deadlines.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <vector>

#include "core/plugin.h"

namespace edgeloop::test {

class CollectingOutput final : public RecordOutput {
 public:
  void push(Record&& r) override;
  std::vector<Record> records() const;
  std::size_t count() const;
  void clear();
  // Waits until at least `n` records arrived.
  bool wait_for_count(std::size_t n, std::chrono::milliseconds timeout);

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Record> records_;
};

class CollectingDeadLetters final : public DeadLetterSink {
 public:
  void write(DeadLetter&& letter) override;
  std::vector<DeadLetter> letters() const;
  std::size_t count() const;
  bool wait_for_count(std::size_t n, std::chrono::milliseconds timeout);

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<DeadLetter> letters_;
};

}  // namespace edgeloop::test
