// The local store: one SQLite database (WAL, synchronous=NORMAL) per file, written by one
// writer thread in batched transactions, read on separate connections.
//
// Producers never touch SQLite: each op.store instance (one per shard) and each action.store
// has its own bounded single-producer queue (SpscRing) that the writer drains every
// commit_interval; a full queue drops the item and counts it, it never waits. Instances that
// name the same file share one Store (a process-wide, reference-counted map): the first
// opener's settings apply.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/key_table.h"
#include "core/metrics.h"
#include "core/record.h"
#include "core/spsc_ring.h"
#include "store/store_batch.h"
#include "store/store_query.h"
#include "store/store_settings.h"
#include "store/store_writer.h"

namespace edgeloop::store {

class Store;
class StoreReader;

// Totals since the store was opened in this process.
struct StoreStats {
  uint64_t batches = 0;         // transactions committed with rows in them
  TableCounts written;          // rows written (rollups: rows inserted or updated)
  uint64_t queue_drops = 0;     // items dropped because a queue was full
  uint64_t write_errors = 0;    // transactions that failed (their rows are lost)
  TableCounts deleted_by_age;   // retention
  TableCounts deleted_by_size;  // the max_bytes bound
  int64_t disk_bytes = 0;       // database file + WAL, at the last check
};

// One producer's queue into a store. Bounded, lock-free, single producer: push from one
// thread only. Destroying it detaches it: what it holds is written first.
class StoreQueue {
 public:
  virtual ~StoreQueue() = default;
  StoreQueue(const StoreQueue&) = delete;
  StoreQueue& operator=(const StoreQueue&) = delete;
  uint64_t dropped() const { return drops_.load(std::memory_order_relaxed); }
  Store& store() const { return *store_; }

 protected:
  friend class Store;
  StoreQueue(std::shared_ptr<Store> store, Metrics* metrics) : store_(std::move(store)), metrics_(metrics) {}
  // The writer (Store::mu_ held): moves up to `max` items into the store's pending batch.
  virtual std::size_t drain(std::size_t max) = 0;
  // The producer's own counter: a plain store, no read-modify-write across threads.
  void count_drop() { drops_.store(drops_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed); }

  std::shared_ptr<Store> store_;
  Metrics* metrics_ = nullptr;
  std::atomic<uint64_t> drops_{0};
  uint64_t drops_taken_ = 0;  // under Store::mu_
};

// Raw readings from a pipeline stage (op.store). Scalar values only: a SampleBlock is not stored.
class ReadingQueue final : public StoreQueue {
 public:
  ~ReadingQueue() override;
  // The shard thread: copies key, event time and values; no allocation, no lock. false: the
  // queue was full and the reading was dropped (counted).
  bool push(const Record& r) {
    Item item;
    item.key = r.key;
    item.ts_ns = r.ts_ns;
    item.n = r.nfields < nfields_ ? r.nfields : nfields_;
    item.f = r.f;
    if (ring_.try_push(std::move(item))) return true;
    count_drop();
    return false;
  }

 private:
  friend class Store;
  struct Item {
    KeyId key = kNoKey;
    uint8_t n = 0;
    int64_t ts_ns = 0;
    std::array<double, kMaxFields> f{};
  };
  ReadingQueue(std::shared_ptr<Store> store, Metrics* metrics, const KeyTable* keys, std::size_t capacity,
               uint32_t schema, std::size_t nfields);
  std::size_t drain(std::size_t max) override;

  SpscRing<Item> ring_;
  const KeyTable* keys_;
  uint32_t schema_;
  uint8_t nfields_;
  std::vector<uint32_t> key_index_;  // KeyId -> the store's key index + 1 (0: not seen); under Store::mu_
};

// Events from the dispatch thread (action.store), written in full (actions/event_json.h).
class EventQueue final : public StoreQueue {
 public:
  ~EventQueue() override;
  // The dispatch thread; false: full, dropped (counted). The event's schema, names and key
  // must stay valid until the queue is destroyed (they are rendered on the writer thread).
  bool push(const Event& e) {
    if (ring_.try_push(e)) return true;
    count_drop();
    return false;
  }

 private:
  friend class Store;
  EventQueue(std::shared_ptr<Store> store, Metrics* metrics, const KeyTable* keys, std::size_t capacity,
             std::string gateway);
  std::size_t drain(std::size_t max) override;

  SpscRing<Event> ring_;
  const KeyTable* keys_;
  std::string gateway_;
};

class Store : public std::enable_shared_from_this<Store> {
 public:
  // The store of settings.path: the one this process has open, or a new one (the database is
  // created when missing and the writer thread started). A caller that finds one open checks
  // its own settings against settings() (see the plugins).
  static Result<std::shared_ptr<Store>> open_shared(const StoreSettings& settings);
  // The stores open in this process, oldest first (for the HTTP routes).
  static std::vector<std::shared_ptr<Store>> open_stores();

  ~Store();  // commits what the queues held, stops the writer
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  const StoreSettings& settings() const { return settings_; }
  const std::string& path() const { return settings_.path; }

  // Setup time (locks, allocates). `keys` and `metrics` (either may be null) must outlive the
  // queue. Metrics: the store's series (labels {store=path}) are added to every Metrics that
  // a live queue names.
  std::unique_ptr<ReadingQueue> add_reading_queue(const Schema& schema, const KeyTable* keys, std::size_t capacity,
                                                  Metrics* metrics);
  std::unique_ptr<EventQueue> add_event_queue(const KeyTable* keys, std::size_t capacity, std::string gateway,
                                              Metrics* metrics);

  // Returns once everything pushed before the call is committed (or failed: the error).
  Status flush();
  StoreStats stats() const;

  // Queries, from any thread, on pooled read connections: they never wait for the writer.
  Result<std::vector<StoredReading>> raw(const ReadingQuery& q);
  Result<std::vector<StoredRollup>> rollups(const ReadingQuery& q);
  Result<std::vector<StoredEvent>> events(const EventQuery& q);
  Result<std::vector<std::string>> readings_json(const ReadingQuery& q);
  Result<std::vector<std::string>> events_json(const EventQuery& q);

 private:
  friend class ReadingQueue;
  friend class EventQueue;
  struct Sink;

  Store(StoreSettings settings, std::unique_ptr<StoreWriter> writer);
  void run();
  // Under mu_: drains the queues into pending_; true when some queue still holds items.
  bool drain_locked(std::size_t max);
  uint32_t intern_key_locked(const std::string& name);
  uint32_t intern_schema_locked(const std::vector<std::string>& names);
  void attach(StoreQueue* q, Metrics* metrics);
  void detach(StoreQueue* q);
  void write_pending(Batch& batch);
  void housekeeping(bool wrote);
  void export_metrics();
  template <class F>
  auto with_reader(F&& f) -> decltype(f(std::declval<StoreReader&>()));

  const StoreSettings settings_;
  std::unique_ptr<StoreWriter> writer_;  // the writer thread only

  mutable std::mutex mu_;
  std::condition_variable wake_;  // the writer: a flush or stop request
  std::condition_variable done_;  // flush() callers
  std::vector<StoreQueue*> queues_;
  std::size_t next_queue_ = 0;  // round-robin start of the next drain
  Batch pending_;               // filled by drains, swapped out by the writer
  std::unordered_map<std::string, uint32_t> key_index_;
  std::map<std::vector<std::string>, uint32_t> schema_index_;
  uint64_t flush_requested_ = 0, flush_done_ = 0;
  uint64_t errors_at_flush_ = 0;
  bool stop_ = false;
  uint64_t detached_drops_ = 0;

  mutable std::mutex stats_mu_;
  StoreStats stats_;
  std::vector<std::unique_ptr<Sink>> sinks_;  // under stats_mu_

  int64_t next_retention_mono_ = 0;  // writer thread
  bool retention_more_ = false;

  std::mutex readers_mu_;
  std::vector<std::unique_ptr<StoreReader>> idle_readers_;

  std::thread thread_;
};

}  // namespace edgeloop::store
