// The durable outbox: events bound upstream are committed to SQLite before they count as
// accepted, then delivered at least once, oldest first, to an UpstreamSink, and deleted only
// after the upstream confirmed them.
//
//   dispatch thread --push--> bounded SPSC queue --> writer thread: one transaction per batch
//   (group commit: every event waiting is committed with one fsync), message id
//   "<gateway>:<seq>" from a durable sequence; confirmed rows deleted in the same transactions
//        --> sender thread: pages of rows in seq order, at most max_in_flight unconfirmed,
//   exponential back-off with jitter after a failure, re-sending from the oldest unconfirmed.
//
// Bounds: max_events and max_bytes (the rows' payload and names, not SQLite's pages); when a
// new event does not fit, `when_full` drops the oldest rows (drop_oldest) or the new event
// (reject_new), counted in edgeloop_outbox_dropped_total{reason} and logged once per episode.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/metrics.h"
#include "core/plugin.h"
#include "core/spsc_ring.h"
#include "outbox/outbox_store.h"
#include "outbox/sink.h"

namespace edgeloop {

enum class WhenFull { kDropOldest, kRejectNew };

struct OutboxConfig {
  std::string name = "upstream";  // for logs and the `outbox` metric label
  std::string path;               // the SQLite database
  std::string gateway;            // message ids are "<gateway>:<seq>"
  OutboxSync sync = OutboxSync::kFull;
  uint64_t max_events = 1'000'000;
  uint64_t max_bytes = uint64_t{512} << 20;
  WhenFull when_full = WhenFull::kDropOldest;
  std::size_t queue_capacity = 65536;  // events between the dispatch thread and the writer
  std::size_t batch_max = 8192;        // events per transaction at most
  std::size_t max_in_flight = 1024;    // sent and not yet confirmed
  int64_t retry_min_ns = 100'000'000;
  int64_t retry_max_ns = 30'000'000'000;
};

class Outbox {
 public:
  // Opens the database (the backlog of an earlier run is sent after start).
  static Result<std::unique_ptr<Outbox>> open(OutboxConfig config, std::unique_ptr<UpstreamSink> sink);
  ~Outbox();  // stop()
  Outbox(const Outbox&) = delete;
  Outbox& operator=(const Outbox&) = delete;

  // Starts the writer, the sender and the sink. `keys` names the events' keys; `metrics` and
  // `dead_letters` may be null (metrics of its own; rejected messages only counted).
  Status start(const KeyTable* keys, Metrics* metrics, DeadLetterSink* dead_letters = nullptr);
  // Single producer (the dispatch thread); never blocks. False when the queue was full: the
  // event is dropped and counted (reason queue_full).
  bool push(const Event& e);
  // Commits everything pushed so far, stops the sender and the sink. What is not confirmed
  // stays in the database for the next start. Idempotent.
  void stop();

  // Thread-safe reads (also in the metrics).
  uint64_t accepted() const { return accepted_->value(); }
  uint64_t delivered() const { return delivered_->value(); }
  uint64_t retried() const { return retried_->value(); }
  uint64_t duplicates() const { return duplicates_->value(); }
  uint64_t dropped(const std::string& reason) const;
  uint64_t commits() const { return commits_->value(); }
  uint64_t backlog() const { return backlog_rows_.load(std::memory_order_acquire); }
  uint64_t backlog_bytes() const { return backlog_bytes_.load(std::memory_order_acquire); }
  uint64_t last_seq() const { return committed_seq_.load(std::memory_order_acquire); }
  std::size_t in_flight() const { return in_flight_count_.load(std::memory_order_relaxed); }
  Health health() const { return sink_->health(); }
  UpstreamSink& sink() { return *sink_; }
  const OutboxConfig& config() const { return config_; }

 private:
  explicit Outbox(OutboxConfig config);
  void writer_loop();
  void write_batch(std::vector<Event>& events, std::vector<uint64_t>& deletes);
  Status apply_batch(std::vector<Event>& events, const std::vector<uint64_t>& deletes, uint64_t& inserted,
                     uint64_t& dropped_oldest, uint64_t& rejected_new, uint64_t& too_large);
  void refresh_oldest(bool force);
  void note_full(uint64_t dropped_now, bool fits_again);
  void sender_loop();
  void on_completion(uint64_t seq, SendOutcome outcome, std::string_view why);
  void reject(const OutboxMessage& m, const std::string& why);
  int64_t backoff_ns(int failures);
  void wake_writer();

  struct Completion {
    uint64_t seq;
    SendOutcome outcome;
    std::string why;
  };

  OutboxConfig config_;
  std::string claimed_path_;  // in the process-wide set of open outbox files
  std::unique_ptr<OutboxStore> store_;
  std::unique_ptr<UpstreamSink> sink_;
  const KeyTable* keys_ = nullptr;
  DeadLetterSink* dead_letters_ = nullptr;
  std::unique_ptr<Metrics> own_metrics_;
  bool started_ = false;

  // Dispatch -> writer.
  SpscRing<Event> queue_;
  std::atomic<uint32_t> writer_sleeping_{0};
  std::atomic<bool> stop_writer_{false};
  std::mutex writer_mu_;
  std::condition_variable writer_cv_;
  std::thread writer_;
  // Sender -> writer: confirmed (or rejected) rows to delete. Guarded by writer_mu_.
  std::vector<uint64_t> to_delete_;

  // Writer state (writer thread only, after start).
  uint64_t next_seq_ = 1;
  uint64_t rows_ = 0;
  uint64_t bytes_ = 0;
  bool full_episode_ = false;
  uint64_t db_error_logs_ = 0;
  uint64_t episode_dropped_ = 0;
  int64_t last_oldest_refresh_ns_ = 0;
  std::string body_;  // JSON render buffer

  // Writer -> sender.
  std::atomic<uint64_t> committed_seq_{0};
  std::atomic<uint64_t> backlog_rows_{0};
  std::atomic<uint64_t> backlog_bytes_{0};

  // Sender.
  std::atomic<bool> stop_sender_{false};
  std::mutex sender_mu_;
  std::condition_variable sender_cv_;
  std::vector<Completion> completions_;  // guarded by sender_mu_
  std::thread sender_;
  std::atomic<std::size_t> in_flight_count_{0};
  std::atomic<uint64_t> reject_logs_{0};

  Counter* accepted_ = nullptr;
  Counter* delivered_ = nullptr;
  Counter* retried_ = nullptr;
  Counter* duplicates_ = nullptr;
  Counter* commits_ = nullptr;
  Counter* dropped_oldest_ = nullptr;
  Counter* dropped_reject_new_ = nullptr;
  Counter* dropped_queue_full_ = nullptr;
  Counter* dropped_too_large_ = nullptr;
  Counter* dropped_rejected_ = nullptr;
  Counter* dropped_db_error_ = nullptr;
  Gauge* backlog_gauge_ = nullptr;
  Gauge* backlog_bytes_gauge_ = nullptr;
  Gauge* oldest_age_ = nullptr;
  Gauge* batch_size_ = nullptr;
  Gauge* in_flight_gauge_ = nullptr;
  Histogram* commit_latency_ = nullptr;
};

}  // namespace edgeloop
