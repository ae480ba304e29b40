// How a device-writing action reports a write that failed: counted
// (edgeloop_action_errors_total), logged (the first of every `log_every`, so a dead device
// cannot flood the log) and dead-lettered with where it was going.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "core/metrics.h"
#include "core/plugin.h"

namespace edgeloop {

class WriteFailures {
 public:
  void reset(std::string action, std::string target, Counter* errors, DeadLetterSink* dead_letters) {
    action_ = std::move(action);
    target_ = std::move(target);
    errors_ = errors;
    dead_letters_ = dead_letters;
  }
  // `reason` a short code (dead letter's reason), `detail` the sentence for the log and payload.
  // `target`: where the write went, when it differs from the action's own (empty: that one).
  void report(const std::string& reason, const std::string& detail, const std::string& target = {});
  // A throttled warning that counts nothing (connect failures: the health says it).
  void warn(const std::string& message, uint64_t every = 1000);

 private:
  std::string action_;
  std::string target_;
  Counter* errors_ = nullptr;
  DeadLetterSink* dead_letters_ = nullptr;
  // Both threads report (the dispatch thread a value that does not encode).
  std::atomic<uint64_t> logs_{0};
  std::atomic<uint64_t> warns_{0};
};

}  // namespace edgeloop
