// A test stage for source.http tests: records every record it sees (key name, ts, value), and
// can be held (to fill the source's queue: back-pressure).
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "core/registry.h"

namespace edgeloop::test {

struct Seen {
  std::string key;
  int64_t ts_ns = 0;
  double v = 0;
  bool operator==(const Seen&) const = default;
};

class Capture {
 public:
  static Capture& instance() {
    static Capture c;
    return c;
  }
  void add(Seen s) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return !hold_; });
    seen_.push_back(std::move(s));
    cv_.notify_all();
  }
  std::vector<Seen> seen() {
    std::lock_guard lock(mu_);
    return seen_;
  }
  bool wait_for(std::size_t n, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return seen_.size() >= n; });
  }
  void hold(bool on) {
    {
      std::lock_guard lock(mu_);
      hold_ = on;
    }
    cv_.notify_all();
  }
  void clear() {
    std::lock_guard lock(mu_);
    seen_.clear();
    hold_ = false;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Seen> seen_;
  bool hold_ = false;
};

class CaptureStage final : public Stage {
 public:
  CaptureStage(const Schema* in, const KeyTable* keys) : schema_(*in), keys_(keys) {}
  const Schema& output_schema() const override { return schema_; }
  void process(const Record& r, Emitter& out) override {
    Capture::instance().add({keys_->name(r.key), r.ts_ns, r.f[0]});
    out.forward(r);
  }

 private:
  Schema schema_;
  const KeyTable* keys_;
};

inline void register_capture(Registry& r) {
  r.add_stage(PluginInfo{.name = "capture", .summary = "test", .options = {}},
              [](const Options&, const StageContext& ctx) -> Result<std::unique_ptr<Stage>> {
                return std::unique_ptr<Stage>(new CaptureStage(ctx.input, ctx.keys));
              });
}

}  // namespace edgeloop::test
