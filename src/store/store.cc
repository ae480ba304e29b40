#include "store/store.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "actions/event_json.h"
#include "core/clock.h"
#include "store/store_reader.h"

namespace edgeloop::store {

namespace {

// The process-wide map of open stores by path. Leaked: stores may close during static
// destruction.
struct OpenStores {
  std::mutex mu;
  std::vector<std::pair<std::string, std::weak_ptr<Store>>> stores;  // in open order
};
OpenStores& open_stores_map() {
  static auto* map = new OpenStores();
  return *map;
}

constexpr std::size_t kMaxIdleReaders = 4;

const char* const kTables[] = {"readings", "rollups", "events"};

int64_t table_count(const TableCounts& c, int i) {
  return i == 0 ? c.readings : i == 1 ? c.rollups : c.events;
}

TableCounts& operator+=(TableCounts& a, const TableCounts& b) {
  a.readings += b.readings;
  a.rollups += b.rollups;
  a.events += b.events;
  return a;
}

}  // namespace

// The store's series in one runtime's Metrics, and what was already added to them.
struct Store::Sink {
  Metrics* metrics = nullptr;
  int refs = 0;
  Counter* written[3] = {};
  Counter* batches = nullptr;
  Counter* drops = nullptr;
  Counter* errors = nullptr;
  Counter* deleted_age[3] = {};
  Counter* deleted_size[3] = {};
  Gauge* bytes = nullptr;
  StoreStats exported;
};

// ---- queues ----

ReadingQueue::ReadingQueue(std::shared_ptr<Store> store, Metrics* metrics, const KeyTable* keys, std::size_t capacity,
                           uint32_t schema, std::size_t nfields)
    : StoreQueue(std::move(store), metrics),
      ring_(capacity),
      keys_(keys),
      schema_(schema),
      nfields_(static_cast<uint8_t>(std::min(nfields, kMaxFields))) {}

ReadingQueue::~ReadingQueue() {
  store_->detach(this);
}

std::size_t ReadingQueue::drain(std::size_t max) {
  Store& s = *store_;
  std::size_t n = 0;
  Item item;
  while (n < max && ring_.try_pop(item)) {
    uint32_t index = 0;
    if (item.key < key_index_.size() && key_index_[item.key] != 0) {
      index = key_index_[item.key] - 1;
    } else {
      const std::string name =
          keys_ && item.key != kNoKey ? keys_->name(item.key) : std::to_string(static_cast<int64_t>(item.key));
      index = s.intern_key_locked(name);
      if (item.key != kNoKey) {
        if (item.key >= key_index_.size()) key_index_.resize(std::size_t{item.key} + 1, 0);
        key_index_[item.key] = index + 1;
      }
    }
    PendingReading& r = s.pending_.readings.emplace_back();
    r.key = index;
    r.schema = schema_;
    r.nfields = item.n;
    r.ts_ns = item.ts_ns;
    std::copy_n(item.f.begin(), item.n, r.f.begin());
    ++n;
  }
  return n;
}

EventQueue::EventQueue(std::shared_ptr<Store> store, Metrics* metrics, const KeyTable* keys, std::size_t capacity,
                       std::string gateway)
    : StoreQueue(std::move(store), metrics), ring_(capacity), keys_(keys), gateway_(std::move(gateway)) {}

EventQueue::~EventQueue() {
  store_->detach(this);
}

std::size_t EventQueue::drain(std::size_t max) {
  Store& s = *store_;
  std::size_t n = 0;
  Event e;
  while (n < max && ring_.try_pop(e)) {
    PendingEvent& p = s.pending_.events.emplace_back();
    p.ts_ns = e.ts_ns;
    p.key = keys_ && e.key != kNoKey ? keys_->name(e.key) : std::to_string(static_cast<int64_t>(e.key));
    p.kind = event_kind_name(e.kind);
    p.state = alert_state_name(e.state);
    if (e.pipeline_name) p.pipeline = *e.pipeline_name;
    if (e.name) p.stage = *e.name;
    EventJsonContext ctx;
    ctx.keys = keys_;
    ctx.gateway = gateway_;
    append_event_json(p.json, e, ctx);
    ++n;
  }
  return n;
}

// ---- the store ----

Result<std::shared_ptr<Store>> Store::open_shared(const StoreSettings& settings) {
  OpenStores& map = open_stores_map();
  std::lock_guard lock(map.mu);
  auto& list = map.stores;
  list.erase(std::remove_if(list.begin(), list.end(), [](const auto& e) { return e.second.expired(); }), list.end());
  for (auto& [path, weak] : list) {
    if (path != settings.path) continue;
    if (auto s = weak.lock()) return s;
  }
  EDGELOOP_ASSIGN_OR_RETURN(std::unique_ptr<StoreWriter> writer, StoreWriter::open(settings));
  std::shared_ptr<Store> store(new Store(settings, std::move(writer)));
  store->thread_ = std::thread([s = store.get()] { s->run(); });
  list.emplace_back(settings.path, store);
  spdlog::info("store {}: open (raw readings kept {}, rollups {} kept {}, events kept {}, max_bytes {})", settings.path,
               settings.value_text("raw_retention"), settings.value_text("rollups"),
               settings.value_text("rollup_retention"), settings.value_text("event_retention"),
               settings.max_bytes ? settings.value_text("max_bytes") : std::string("unbounded"));
  return store;
}

std::vector<std::shared_ptr<Store>> Store::open_stores() {
  OpenStores& map = open_stores_map();
  std::lock_guard lock(map.mu);
  std::vector<std::shared_ptr<Store>> out;
  for (auto& [path, weak] : map.stores) {
    if (auto s = weak.lock()) out.push_back(std::move(s));
  }
  return out;
}

Store::Store(StoreSettings settings, std::unique_ptr<StoreWriter> writer)
    : settings_(std::move(settings)), writer_(std::move(writer)) {
  next_retention_mono_ = mono_now_ns();  // once right after opening: the store may be old
  stats_.disk_bytes = writer_->disk_bytes();
}

Store::~Store() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

uint32_t Store::intern_key_locked(const std::string& name) {
  auto [it, added] = key_index_.try_emplace(name, static_cast<uint32_t>(key_index_.size()));
  if (added) pending_.new_keys.emplace_back(it->second, name);
  return it->second;
}

uint32_t Store::intern_schema_locked(const std::vector<std::string>& names) {
  auto [it, added] = schema_index_.try_emplace(names, static_cast<uint32_t>(schema_index_.size()));
  if (added) pending_.new_schemas.emplace_back(it->second, names);
  return it->second;
}

std::unique_ptr<ReadingQueue> Store::add_reading_queue(const Schema& schema, const KeyTable* keys, std::size_t capacity,
                                                       Metrics* metrics) {
  std::vector<std::string> names = schema.names();
  if (names.size() > kMaxFields) names.resize(kMaxFields);
  uint32_t index = 0;
  {
    std::lock_guard lock(mu_);
    index = intern_schema_locked(names);
  }
  std::unique_ptr<ReadingQueue> q(new ReadingQueue(shared_from_this(), metrics, keys, capacity, index, names.size()));
  attach(q.get(), metrics);
  return q;
}

std::unique_ptr<EventQueue> Store::add_event_queue(const KeyTable* keys, std::size_t capacity, std::string gateway,
                                                   Metrics* metrics) {
  std::unique_ptr<EventQueue> q(new EventQueue(shared_from_this(), metrics, keys, capacity, std::move(gateway)));
  attach(q.get(), metrics);
  return q;
}

void Store::attach(StoreQueue* q, Metrics* metrics) {
  {
    std::lock_guard lock(mu_);
    queues_.push_back(q);
  }
  if (!metrics) return;
  std::lock_guard lock(stats_mu_);
  for (auto& s : sinks_) {
    if (s->metrics == metrics) {
      ++s->refs;
      return;
    }
  }
  auto sink = std::make_unique<Sink>();
  sink->metrics = metrics;
  sink->refs = 1;
  const Metrics::Labels store_label = {{"store", path()}};
  for (int t = 0; t < 3; ++t) {
    Metrics::Labels l = store_label;
    l.emplace_back("table", kTables[t]);
    sink->written[t] = &metrics->counter("edgeloop_store_rows_written_total",
                                         "Rows the local store wrote (rollups: rows inserted or updated).", l);
    Metrics::Labels age = l, size = l;
    age.emplace_back("reason", "age");
    size.emplace_back("reason", "size");
    const char* help = "Rows the local store deleted: past their retention (age) or for the max_bytes bound (size).";
    sink->deleted_age[t] = &metrics->counter("edgeloop_store_retention_deleted_total", help, age);
    sink->deleted_size[t] = &metrics->counter("edgeloop_store_retention_deleted_total", help, size);
  }
  sink->batches =
      &metrics->counter("edgeloop_store_batches_total", "Transactions the local store committed.", store_label);
  sink->drops = &metrics->counter("edgeloop_store_queue_drops_total",
                                  "Readings or events dropped because a queue into the store was full.", store_label);
  sink->errors = &metrics->counter("edgeloop_store_write_errors_total",
                                   "Store transactions that failed (their rows are lost).", store_label);
  sink->bytes =
      &metrics->gauge("edgeloop_store_db_bytes", "Disk used by the store: database file and WAL.", store_label);
  sink->exported = stats_;  // this Metrics counts from now on
  sink->bytes->set(static_cast<double>(stats_.disk_bytes));
  sinks_.push_back(std::move(sink));
}

void Store::detach(StoreQueue* q) {
  {
    std::lock_guard lock(mu_);
    // What it still holds goes into the pending batch now: nothing of the queue is used later.
    while (q->drain(SIZE_MAX) > 0) {
    }
    const uint64_t drops = q->drops_.load(std::memory_order_relaxed);
    detached_drops_ += drops - q->drops_taken_;
    q->drops_taken_ = drops;
    queues_.erase(std::remove(queues_.begin(), queues_.end(), q), queues_.end());
    next_queue_ = 0;
  }
  (void)flush();  // a stopping action returns once its events are committed
  if (!q->metrics_) return;
  export_metrics();
  std::lock_guard lock(stats_mu_);
  for (auto it = sinks_.begin(); it != sinks_.end(); ++it) {
    if ((*it)->metrics != q->metrics_) continue;
    if (--(*it)->refs == 0) sinks_.erase(it);
    break;
  }
}

bool Store::drain_locked(std::size_t max) {
  bool more = false;
  const std::size_t n = queues_.size();
  uint64_t drops = detached_drops_;
  detached_drops_ = 0;
  for (std::size_t i = 0; i < n; ++i) {
    StoreQueue* q = queues_[(next_queue_ + i) % n];
    const std::size_t room = max > pending_.rows() ? max - pending_.rows() : 0;
    if (room == 0 || q->drain(room) == room) more = true;
    const uint64_t d = q->drops_.load(std::memory_order_relaxed);
    drops += d - q->drops_taken_;
    q->drops_taken_ = d;
  }
  if (n) next_queue_ = (next_queue_ + 1) % n;  // a busy queue cannot starve the others
  if (drops) {
    std::lock_guard lock(stats_mu_);
    stats_.queue_drops += drops;
  }
  return more;
}

void Store::write_pending(Batch& batch) {
  auto counts = writer_->write(batch);
  std::lock_guard lock(stats_mu_);
  if (!counts.ok()) {
    ++stats_.write_errors;
    // One line per failure: failures come from the disk (full, I/O), rare and worth seeing.
    spdlog::error("store {}: a batch of {} rows was lost: {}", path(), batch.rows(), counts.error().message);
    return;
  }
  if (batch.rows() > 0) ++stats_.batches;
  stats_.written += *counts;
}

void Store::housekeeping(bool wrote) {
  const int64_t now = mono_now_ns();
  TableCounts by_age, by_size;
  bool checked = wrote;
  if (retention_more_ || now >= next_retention_mono_) {
    next_retention_mono_ = now + settings_.retention_interval_ns;
    auto r = writer_->delete_expired(unix_now_ns(), settings_.batch_rows);
    if (r.ok()) {
      by_age = *r;
      if (r->total() > 0) {
        spdlog::debug("store {}: retention deleted {} readings, {} rollups, {} events", path(), r->readings,
                      r->rollups, r->events);
      }
      // A table hit the step's bound: more is past retention, go on next cycle.
      retention_more_ = r->readings >= settings_.batch_rows || r->rollups >= settings_.batch_rows ||
                        r->events >= settings_.batch_rows;
    } else {
      retention_more_ = false;
      spdlog::error("store {}: retention failed: {}", path(), r.error().message);
    }
    checked = true;
  }
  if ((checked || writer_->shrinking()) && settings_.max_bytes > 0) {
    checked = true;
    // At most 10 batches' worth of rows a pass: a large clean-up spreads over cycles.
    auto r = writer_->enforce_size(10 * settings_.batch_rows);
    if (r.ok()) {
      by_size = *r;
      if (r->total() > 0) {
        spdlog::warn("store {}: disk bound {} bytes reached: deleted the oldest {} readings, {} rollups, {} events",
                     path(), settings_.max_bytes, r->readings, r->rollups, r->events);
      }
    } else {
      spdlog::error("store {}: enforcing max_bytes failed: {}", path(), r.error().message);
    }
  }
  if (!checked) return;
  const int64_t bytes = writer_->disk_bytes();
  std::lock_guard lock(stats_mu_);
  stats_.deleted_by_age += by_age;
  stats_.deleted_by_size += by_size;
  stats_.disk_bytes = bytes;
}

void Store::export_metrics() {
  std::lock_guard lock(stats_mu_);
  for (auto& s : sinks_) {
    const StoreStats& now = stats_;
    StoreStats& was = s->exported;
    for (int t = 0; t < 3; ++t) {
      s->written[t]->add(static_cast<uint64_t>(table_count(now.written, t) - table_count(was.written, t)));
      s->deleted_age[t]->add(
          static_cast<uint64_t>(table_count(now.deleted_by_age, t) - table_count(was.deleted_by_age, t)));
      s->deleted_size[t]->add(
          static_cast<uint64_t>(table_count(now.deleted_by_size, t) - table_count(was.deleted_by_size, t)));
    }
    s->batches->add(now.batches - was.batches);
    s->drops->add(now.queue_drops - was.queue_drops);
    s->errors->add(now.write_errors - was.write_errors);
    s->bytes->set(static_cast<double>(now.disk_bytes));
    was = now;
  }
}

void Store::run() {
  Batch batch;
  const auto max_rows = static_cast<std::size_t>(settings_.batch_rows);
  while (true) {
    const auto cycle_start = std::chrono::steady_clock::now();
    uint64_t gen = 0;
    bool stop = false, more = false;
    {
      std::lock_guard lock(mu_);
      more = drain_locked(max_rows);
      std::swap(batch, pending_);
      gen = flush_requested_;
      stop = stop_;
    }
    const bool wrote = batch.rows() > 0;
    if (!batch.empty()) write_pending(batch);
    batch.clear();
    housekeeping(wrote);
    export_metrics();
    if (!more) {
      std::lock_guard lock(mu_);
      flush_done_ = gen;
      done_.notify_all();
      if (stop) break;
    }
    if (more) continue;  // the queues hold more than a batch: no pause
    std::unique_lock lock(mu_);
    wake_.wait_until(lock, cycle_start + std::chrono::nanoseconds(settings_.commit_interval_ns),
                     [&] { return stop_ || flush_requested_ != gen; });
  }
}

Status Store::flush() {
  uint64_t errors_before = 0;
  {
    std::lock_guard lock(stats_mu_);
    errors_before = stats_.write_errors;
  }
  {
    std::unique_lock lock(mu_);
    const uint64_t gen = ++flush_requested_;
    wake_.notify_all();
    done_.wait(lock, [&] { return flush_done_ >= gen; });
  }
  std::lock_guard lock(stats_mu_);
  if (stats_.write_errors != errors_before) {
    return make_error(Errc::kIo, "store " + path() + ": " + std::to_string(stats_.write_errors - errors_before) +
                                     " batch(es) failed to write (see the log)");
  }
  return Status::Ok();
}

StoreStats Store::stats() const {
  std::lock_guard lock(stats_mu_);
  return stats_;
}

template <class F>
auto Store::with_reader(F&& f) -> decltype(f(std::declval<StoreReader&>())) {
  std::unique_ptr<StoreReader> reader;
  {
    std::lock_guard lock(readers_mu_);
    if (!idle_readers_.empty()) {
      reader = std::move(idle_readers_.back());
      idle_readers_.pop_back();
    }
  }
  if (!reader) {
    auto opened = StoreReader::open(path());
    if (!opened.ok()) return opened.take_error();
    reader = std::move(opened).value();
  }
  auto result = f(*reader);
  std::lock_guard lock(readers_mu_);
  if (idle_readers_.size() < kMaxIdleReaders) idle_readers_.push_back(std::move(reader));
  return result;
}

Result<std::vector<StoredReading>> Store::raw(const ReadingQuery& q) {
  return with_reader([&](StoreReader& r) { return r.raw(q); });
}
Result<std::vector<StoredRollup>> Store::rollups(const ReadingQuery& q) {
  return with_reader([&](StoreReader& r) { return r.rollups(q); });
}
Result<std::vector<StoredEvent>> Store::events(const EventQuery& q) {
  return with_reader([&](StoreReader& r) { return r.events(q); });
}
Result<std::vector<std::string>> Store::readings_json(const ReadingQuery& q) {
  return with_reader([&](StoreReader& r) { return r.readings_json(q); });
}
Result<std::vector<std::string>> Store::events_json(const EventQuery& q) {
  return with_reader([&](StoreReader& r) { return r.events_json(q); });
}

}  // namespace edgeloop::store
