// The dispatch thread: takes events from every shard's ring, numbers them, hands them to the
// actions that subscribe to them and to listeners (API, tests), and measures the latency
// from a reading's receipt to its action.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/metrics.h"
#include "core/plugin.h"
#include "core/spsc_ring.h"
#include "runtime/parker.h"

namespace edgeloop {

// Which events an action takes: `on: PIPELINE[.SELECTOR]` or `*.SELECTOR`.
struct EventSelector {
  int pipeline = -1;  // -1: any pipeline
  enum class What { kAll, kAlert, kRaised, kCleared, kInsight, kCommand } what = What::kAll;
  bool matches(const Event& e) const;
  static Result<EventSelector> parse(std::string_view selector);  // "alert", "raised", ... ("" = all)
};

class Dispatcher {
 public:
  using Listener = std::function<void(const Event&)>;

  Dispatcher(Metrics& metrics, std::vector<std::string> pipeline_names);
  ~Dispatcher();

  Parker& parker() { return parker_; }
  // Before start().
  void add_ring(SpscRing<Event>* ring) { rings_.push_back(ring); }
  void add_action(Action* action, EventSelector selector, std::string name);
  void add_listener(Listener listener) { listeners_.push_back(std::move(listener)); }

  void start();
  // Drains every ring, then stops and joins. Call after the shards stopped.
  void stop();
  uint64_t dispatched() const { return seq_.load(std::memory_order_relaxed); }

 private:
  struct Binding {
    Action* action;
    EventSelector selector;
    Counter* delivered;
  };
  struct PipelineMetrics {
    Histogram* latency;
    Counter* raised;
    Counter* cleared;
    Counter* insights;
    Counter* commands;
  };
  bool drain_once();
  void dispatch(Event& e);
  void run();

  Metrics& metrics_;
  std::vector<PipelineMetrics> per_pipeline_;
  std::vector<SpscRing<Event>*> rings_;
  std::vector<Binding> bindings_;
  std::vector<Listener> listeners_;
  Parker parker_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> seq_{0};
  std::thread thread_;
};

}  // namespace edgeloop
