// A controllable UpstreamSink for outbox tests: records every send, and either answers at
// once (through `decide`) or holds the completions until the test releases them.
#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "outbox/sink.h"

namespace edgeloop::test {

class FakeSink final : public UpstreamSink {
 public:
  Status start(Completion done) override {
    done_ = std::move(done);
    started_ = true;
    return Status::Ok();
  }
  void stop() override { started_ = false; }
  bool ready() override { return ready_.load(); }
  uint64_t epoch() const override { return epoch_.load(); }
  Status send(const OutboxMessage& m) override {
    if (send_error_) {
      if (auto err = send_error_(m)) return *err;
    }
    SendOutcome o = SendOutcome::kDelivered;
    bool hold = hold_.load();
    {
      std::lock_guard lock(mu_);
      sent_.push_back(m);
      if (decide_) o = decide_(m);
      if (hold) held_.push_back(m.seq);
    }
    if (!hold) done_(m.seq, o, o == SendOutcome::kDelivered ? std::string_view(delivered_why_) : "fake failure");
    return Status::Ok();
  }
  Health health() const override { return ready_.load() ? Health::kConnected : Health::kDown; }
  std::string describe() const override { return "fake"; }

  // Completes every held send with `o` (in order), returns how many.
  std::size_t release(SendOutcome o) {
    std::deque<uint64_t> held;
    {
      std::lock_guard lock(mu_);
      held.swap(held_);
    }
    for (uint64_t seq : held) done_(seq, o, o == SendOutcome::kDelivered ? "" : "released as a failure");
    return held.size();
  }
  std::size_t held() const {
    std::lock_guard lock(mu_);
    return held_.size();
  }
  std::vector<OutboxMessage> sent() const {
    std::lock_guard lock(mu_);
    return sent_;
  }
  std::size_t sent_count() const {
    std::lock_guard lock(mu_);
    return sent_.size();
  }
  void set_decide(std::function<SendOutcome(const OutboxMessage&)> f) {
    std::lock_guard lock(mu_);
    decide_ = std::move(f);
  }
  // Before start: a send that fails synchronously when this returns an error.
  std::function<std::optional<Error>(const OutboxMessage&)> send_error_;

  std::string delivered_why_;  // before start: the `why` of deliveries (kDuplicateDelivery)
  std::atomic<bool> ready_{true};
  std::atomic<bool> hold_{false};
  std::atomic<uint64_t> epoch_{0};
  std::atomic<bool> started_{false};

 private:
  Completion done_;
  mutable std::mutex mu_;
  std::vector<OutboxMessage> sent_;
  std::deque<uint64_t> held_;
  std::function<SendOutcome(const OutboxMessage&)> decide_;
};

}  // namespace edgeloop::test
