#include "fakes.h"

namespace edgeloop::test {

void CollectingOutput::push(Record&& r) {
  {
    std::lock_guard lock(mu_);
    records_.push_back(std::move(r));
  }
  cv_.notify_all();
}

std::vector<Record> CollectingOutput::records() const {
  std::lock_guard lock(mu_);
  return records_;
}

std::size_t CollectingOutput::count() const {
  std::lock_guard lock(mu_);
  return records_.size();
}

void CollectingOutput::clear() {
  std::lock_guard lock(mu_);
  records_.clear();
}

bool CollectingOutput::wait_for_count(std::size_t n, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return records_.size() >= n; });
}

void CollectingDeadLetters::write(DeadLetter&& letter) {
  {
    std::lock_guard lock(mu_);
    letters_.push_back(std::move(letter));
  }
  cv_.notify_all();
}

std::vector<DeadLetter> CollectingDeadLetters::letters() const {
  std::lock_guard lock(mu_);
  return letters_;
}

std::size_t CollectingDeadLetters::count() const {
  std::lock_guard lock(mu_);
  return letters_.size();
}

bool CollectingDeadLetters::wait_for_count(std::size_t n, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return letters_.size() >= n; });
}

}  // namespace edgeloop::test
