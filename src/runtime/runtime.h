// The runtime: builds sources, shards, pipelines, the dispatcher and actions from a validated
// config, starts and stops them in order, and reports health and a periodic summary.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "config/app_config.h"
#include "core/key_table.h"
#include "core/metrics.h"
#include "core/registry.h"
#include "runtime/dead_letter.h"
#include "runtime/dispatcher.h"
#include "runtime/shard.h"

namespace edgeloop {

struct ComponentStatus {
  std::string name;
  std::string kind;  // "source" | "action"
  Health health = Health::kConnecting;
};

class Runtime {
 public:
  // Builds everything (sources and actions are created, not connected): this is also what
  // `edgeloop check` runs, so every config error surfaces here, before anything starts.
  static Result<std::unique_ptr<Runtime>> build(const AppConfig& config, const Registry& registry);
  ~Runtime();

  // Before start(): called on the dispatch thread for every event.
  void add_event_listener(Dispatcher::Listener listener) { dispatcher_->add_listener(std::move(listener)); }
  DeadLetterWriter& dead_letters() { return *dead_letters_; }

  Status start();
  // Stops the sources, lets the shards finish what they hold, delivers the last events, stops
  // the actions. Idempotent.
  void stop();

  // After start(): the context of source `index` (its router output), for code that feeds a
  // `source.inproc` from its own thread (one thread per source).
  SourceContext& source_context(uint16_t index) { return source_contexts_.at(index); }

  Metrics& metrics() { return metrics_; }
  KeyTable& keys() { return *keys_; }
  const std::vector<std::string>& pipeline_names() const { return pipeline_names_; }
  std::vector<ComponentStatus> components() const;
  // "ok" (everything connected), "degraded" (something is not), "down" (no source is).
  std::string status() const;
  // One line: rates, events, dead letters, back-pressure, latency.
  std::string summary_line();
  bool inline_mode() const { return inline_mode_; }

 private:
  Runtime() = default;
  // Every tick: the shards' counters out to Metrics; every summary_interval: the summary line.
  void housekeeping_loop();
  void export_counters();

  Metrics metrics_;
  std::unique_ptr<KeyTable> keys_;
  RuntimeConfig settings_;
  bool inline_mode_ = false;
  std::vector<std::string> source_names_;
  std::vector<std::string> pipeline_names_;  // reserved up front: stable addresses
  std::vector<std::unique_ptr<Source>> sources_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::vector<std::unique_ptr<ShardCore>> inline_cores_;
  std::vector<std::unique_ptr<RecordOutput>> outputs_;
  std::unique_ptr<Dispatcher> dispatcher_;
  std::vector<std::string> action_names_;
  std::vector<std::unique_ptr<Action>> actions_;
  std::unique_ptr<DeadLetterWriter> dead_letters_;
  std::vector<SourceContext> source_contexts_;
  std::vector<ActionContext> action_contexts_;
  Counter* backpressure_ = nullptr;

  bool started_ = false;
  // True once start() has started every action and source: until then components() asks no
  // plugin for its health (the HTTP API may ask from its thread while start() still sets
  // the plugins up), and reports them connecting.
  std::atomic<bool> serving_{false};
  std::mutex export_mu_;
  std::mutex summary_mu_;
  std::condition_variable summary_cv_;
  bool summary_stop_ = false;
  std::thread summary_thread_;
  int64_t last_summary_ns_ = 0;
  double last_records_ = 0;
};

}  // namespace edgeloop
