#include "actions/write_failures.h"

#include <spdlog/spdlog.h>

#include "core/clock.h"

namespace edgeloop {

void WriteFailures::report(const std::string& reason, const std::string& detail, const std::string& target) {
  if (errors_) errors_->add();
  if (logs_++ % 1000 == 0) spdlog::error("action {}: {} ({})", action_, detail, reason);
  if (!dead_letters_) return;
  DeadLetter d;
  d.source = action_;
  d.reason = reason;
  d.topic = target.empty() ? target_ : target;
  d.payload = detail;
  d.recv_ns = unix_now_ns();
  dead_letters_->write(std::move(d));
}

void WriteFailures::warn(const std::string& message, uint64_t every) {
  if (warns_++ % every == 0) spdlog::warn("action {}: {}", action_, message);
}

}  // namespace edgeloop
